package io.prefill.cpu;

import io.prefill.engine.ForwardOutput;
import io.prefill.model.Architecture;
import io.prefill.model.DType;
import io.prefill.model.LoadedModel;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuForwardPassTest {
    @TempDir
    Path dir;

    @Test
    void llamaWithGroupedQueryAttentionMatchesTheNaiveForward() {
        checkAgainstNaive(TinyModelSpec.demo(), 1);
    }

    @Test
    void qwen2WithBiasAndTiedEmbeddingsMatchesTheNaiveForward() {
        checkAgainstNaive(TinyModelSpec.demo().withArchitecture(Architecture.QWEN2).withTieWordEmbeddings(true)
                .withDtype(DType.F32), 2);
    }

    private void checkAgainstNaive(TinyModelSpec spec, long seed) {
        TinyModelWriter.write(dir.resolve("m" + seed), spec, seed);
        try (LoadedModel model = LoadedModel.open(dir.resolve("m" + seed))) {
            PatternConfig dense = PatternConfig.uniform("t", spec.numLayers(), spec.numHeads(), 0, new HeadPattern.Dense());
            CpuForwardPass forward = new CpuForwardPass(model.config(), model.weights(), dense);
            NaiveTransformer naive = new NaiveTransformer(model.config(), model.weights());
            for (int n : new int[]{1, 7, 70}) {
                int[] tokens = randomTokens(n, model.config().vocabSize(), seed + n);
                ForwardOutput out = forward.forward(tokens);
                double[] expected = naive.lastLogits(tokens);
                assertEquals(expected.length, out.lastLogits().length);
                double maxAbs = 0;
                double maxErr = 0;
                for (int i = 0; i < expected.length; i++) {
                    maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
                    maxErr = Math.max(maxErr, Math.abs(expected[i] - out.lastLogits()[i]));
                }
                assertTrue(maxAbs > 1e-3, "logits should not be degenerate");
                assertTrue(maxErr <= 1e-4 * Math.max(1, maxAbs), "n=" + n + ": max error " + maxErr + " vs scale " + maxAbs);
                assertEquals(1.0, out.attention().density(), 1e-12);
            }
        }
    }

    @Test
    void sparseHeadsComputeLessAndStillProduceFiniteLogits() {
        TinyModelWriter.write(dir.resolve("s"), TinyModelSpec.demo(), 5);
        try (LoadedModel model = LoadedModel.open(dir.resolve("s"))) {
            PatternConfig sparse = PatternConfig.uniform("t", 2, 4, 0, new HeadPattern.AShape(16, 64));
            ForwardOutput out = new CpuForwardPass(model.config(), model.weights(), sparse)
                    .forward(randomTokens(2000, model.config().vocabSize(), 9));
            // sinks + a window rounded to 64-row blocks: about (16 + 64 + 32) / 1000 of dense at n = 2000
            assertTrue(out.attention().density() < 0.15, "density " + out.attention().density());
            assertEquals(8, out.attention().sparseHeadRuns());
            for (float z : out.lastLogits()) assertTrue(Float.isFinite(z));
        }
    }

    @Test
    void promptsShorterThanTheMinimumRunDense() {
        TinyModelWriter.write(dir.resolve("d"), TinyModelSpec.demo(), 6);
        try (LoadedModel model = LoadedModel.open(dir.resolve("d"))) {
            int[] tokens = randomTokens(300, model.config().vocabSize(), 4);
            PatternConfig sparseAbove = PatternConfig.uniform("t", 2, 4, 301, new HeadPattern.AShape(4, 8));
            PatternConfig dense = PatternConfig.uniform("t", 2, 4, 0, new HeadPattern.Dense());
            ForwardOutput a = new CpuForwardPass(model.config(), model.weights(), sparseAbove).forward(tokens);
            ForwardOutput b = new CpuForwardPass(model.config(), model.weights(), dense).forward(tokens);
            assertEquals(1.0, a.attention().density(), 1e-12);
            assertEquals(0, a.attention().sparseHeadRuns());
            for (int i = 0; i < a.lastLogits().length; i++) assertEquals(b.lastLogits()[i], a.lastLogits()[i], 1e-6);
        }
    }

    static int[] randomTokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
