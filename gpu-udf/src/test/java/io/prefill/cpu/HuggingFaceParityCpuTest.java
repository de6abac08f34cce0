package io.prefill.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prefill.testing.HfParity;
import io.prefill.testing.HfParity.Case;
import io.prefill.testing.HfParity.Fixture;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The CPU reference backend against Hugging Face transformers on the parity fixtures of
 * {@code bench/hf_fixtures.py} (tiny Llama, Qwen2, Phi-3 with longrope and GLM checkpoints and
 * transformers' logits), on any machine: {@code -Dprefill.hf.fixtures=DIR} names the folder made
 * on a GPU node; without it, or without the folder, the test skips. Every case up to
 * {@value #MAX_LENGTH} tokens, compared as {@link HfParity#compare} says; the cuda backend's cases
 * are in {@code HuggingFaceParityGpuTest}.
 */
class HuggingFaceParityCpuTest {
    static final int MAX_LENGTH = 2048;

    @TestFactory
    Stream<DynamicNode> cpuLogitsMatchHuggingFace() throws IOException {
        Path root = HfParity.rootOrSkip();
        HfParity.printManifest(root);
        List<DynamicNode> nodes = new ArrayList<>();
        for (Path dir : HfParity.modelDirectories(root)) {
            List<DynamicNode> tests = new ArrayList<>();
            for (int n : HfParity.caseLengths(dir)) {
                if (n <= MAX_LENGTH) tests.add(DynamicTest.dynamicTest("cpu n=" + n, () -> check(dir, n)));
            }
            assertTrue(!tests.isEmpty(), () -> dir + ": no case-<n>.tokens.i32 file of at most " + MAX_LENGTH + " tokens");
            nodes.add(DynamicContainer.dynamicContainer(dir.getFileName().toString(), tests));
        }
        return nodes.stream();
    }

    private static void check(Path dir, int n) {
        try (Fixture f = Fixture.open(dir)) {
            Case c = f.load(n);
            long t0 = System.nanoTime();
            float[] ours = f.cpu().forward(c.tokens()).lastLogits();
            HfParity.compare(f, c, "cpu", ours, (System.nanoTime() - t0) / 1e9);
        }
    }
}
