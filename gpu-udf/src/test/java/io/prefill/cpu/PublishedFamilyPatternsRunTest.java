package io.prefill.cpu;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.prefill.engine.ForwardOutput;
import io.prefill.model.Architecture;
import io.prefill.model.DType;
import io.prefill.model.LoadedModel;
import io.prefill.model.RopeScaling;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.testing.SharedData;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MInference's published pattern configs of Phi-3-mini-128k and GLM-4-9B-1M run against models of
 * their families' shapes (the layers x heads the configs are for: 32 x 32 for Phi-3 with
 * longrope, 40 x 32 over 2 KV heads for GLM-4; small widths), with the configs' sparse length
 * lowered so that a 1100-token prompt takes every head's published pattern: finite logits and every
 * head run sparse. (At this length the published budgets, up to 1000 columns and 6096 diagonals,
 * cover nearly every entry: the density says nothing here; speed at 128K is BENCHMARKS.md's.)
 * Skipped when the shared configs are absent.
 */
class PublishedFamilyPatternsRunTest {
    @TempDir
    Path dir;

    private static Path published(String file) {
        var folder = SharedData.find("minference-configs");
        assumeTrue(folder.isPresent(), "shared minference-configs folder absent");
        Path p = folder.get().resolve(file);
        assumeTrue(Files.exists(p), p + " absent");
        return p;
    }

    private void runs(TinyModelSpec spec, Path configFile, long seed) {
        PatternConfig published = PatternConfig.read(configFile);
        assertEquals(spec.numLayers(), published.numLayers(), configFile.toString());
        assertEquals(spec.numHeads(), published.numHeads(), configFile.toString());
        PatternConfig sparse = published.withMinSparseLength(64);
        TinyModelWriter.write(dir.resolve("m" + seed), spec, seed);
        try (LoadedModel m = LoadedModel.open(dir.resolve("m" + seed))) {
            CpuForwardPass cpu = new CpuForwardPass(m.config(), m.weights(), sparse);
            int n = 1100;
            int[] tokens = new int[n];
            Random r = new Random(seed);
            for (int i = 0; i < n; i++) tokens[i] = r.nextInt(m.config().vocabSize());
            ForwardOutput out = cpu.forward(tokens);
            for (float x : out.lastLogits()) assertTrue(Float.isFinite(x), configFile + ": a non-finite logit");
            int heads = spec.numLayers() * spec.numHeads();
            assertEquals(heads, out.attention().sparseHeadRuns(), configFile + ": every head runs its published pattern");
            assertEquals(0, out.attention().denseHeadRuns(), configFile.toString());
            assertTrue(out.attention().density() <= 1.0, configFile + ": density " + out.attention().density());
            System.out.printf("%s on a %s-shaped model, n=%d: density %.3f%n", configFile.getFileName(),
                    spec.architecture(), n, out.attention().density());
        }
    }

    @Test
    void phi3Mini128kPatternsRunOnAPhi3ShapedModel() {
        Path file = published("Phi_3_mini_128k_instruct_kv_out_v32_fit_o_best_pattern.json");
        int headDim = 16, original = 512, maxPositions = 32768;
        Random r = new Random(3);
        List<Double> shortFactors = new ArrayList<>(), longFactors = new ArrayList<>();
        for (int i = 0; i < headDim / 2; i++) {
            shortFactors.add(1 + 0.5 * r.nextDouble());
            longFactors.add(2 + 8 * r.nextDouble());
        }
        TinyModelSpec phi3 = new TinyModelSpec(Architecture.PHI3, 32 * headDim, 128, 32, 32, 32, headDim, 10000.0,
                RopeScaling.longrope(shortFactors, longFactors, (double) maxPositions / original, 0, original), false,
                DType.BF16, maxPositions);
        runs(phi3, file, 3);
        // the config mixes A-shape (stream_llm) heads in among the vertical-slash ones
        PatternConfig published = PatternConfig.read(file);
        assertTrue(published.heads().stream().flatMap(List::stream).anyMatch(p -> p instanceof HeadPattern.AShape));
    }

    @Test
    void glm4Chat1mPatternsRunOnAGlm4ShapedModel() {
        Path file = published("GLM_4_9B_1M_instruct_kv_out_v32_fit_o_best_pattern.json");
        TinyModelSpec glm = new TinyModelSpec(Architecture.GLM, 32 * 16, 128, 40, 32, 2, 16, 10000.0, RopeScaling.NONE,
                false, DType.BF16, 1 << 20);
        runs(glm, file, 4);
    }
}
