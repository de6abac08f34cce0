package io.prefill.cpu;

import io.prefill.engine.ForwardOutput;
import io.prefill.kv.FullKvCapture;
import io.prefill.model.Architecture;
import io.prefill.model.DType;
import io.prefill.model.LoadedModel;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeScaling;
import io.prefill.model.TensorView;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.model.WeightStore;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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

    /**
     * Phi-3: fused qkv_proj and gate_up_proj, longrope with an original context of 16 tokens, so
     * 16 tokens use the short factors and 17 the long ones, with cos/sin scaled by sqrt(1 + ln(2^16) / ln(16)).
     */
    @Test
    void phi3WithFusedProjectionsAndLongropeMatchesTheNaiveForward() {
        checkAgainstNaive(phi3Spec(), 3, 1, 7, 16, 17, 70);
    }

    /** GLM: q/k/v bias, fused gate_up_proj, interleaved rotary over half of each head. */
    @Test
    void glmWithBiasInterleavedHalfRotaryAndFusedGateUpMatchesTheNaiveForward() {
        checkAgainstNaive(TinyModelSpec.demo().withArchitecture(Architecture.GLM).withDtype(DType.F32), 4, 1, 7, 70);
    }

    /** GLM's rotary turns pairs (2i, 2i+1) of the first half of each key head by position; the second half passes through. */
    @Test
    void glmRotatesTheFirstHalfOfEachHeadInAdjacentPairsAndLeavesTheRestUntouched() {
        TinyModelSpec spec = TinyModelSpec.demo().withArchitecture(Architecture.GLM).withDtype(DType.F32);
        TinyModelWriter.write(dir.resolve("rot"), spec, 8);
        try (LoadedModel model = LoadedModel.open(dir.resolve("rot"))) {
            ModelConfig c = model.config();
            int d = c.headDim(), r = c.rotaryDim(), n = 40;
            assertEquals(d / 2, r);
            int[] tokens = randomTokens(n, c.vocabSize(), 12);
            float[][][] keys = new float[1][][];
            PatternConfig dense = PatternConfig.uniform("t", spec.numLayers(), spec.numHeads(), 0, new HeadPattern.Dense());
            new CpuForwardPass(c, model.weights(), dense).forward(tokens, (layer, len, headDim, q, k, v) -> {
                if (layer == 0) keys[0] = k;
            });
            // layer 0's keys before RoPE, from the checkpoint's tensors: k_proj(rmsnorm(embedding)) + bias
            WeightStore w = model.weightStore();
            TensorView embed = w.get("model.embed_tokens.weight"), norm = w.get("model.layers.0.input_layernorm.weight");
            TensorView kProj = w.get("model.layers.0.self_attn.k_proj.weight"), kBias = w.get("model.layers.0.self_attn.k_proj.bias");
            int hidden = c.hiddenSize();
            boolean rotatedSomething = false;
            for (int t = 0; t < n; t++) {
                double ss = 0;
                for (int i = 0; i < hidden; i++) ss += Math.pow(embed.get((long) tokens[t] * hidden + i), 2);
                double inv = 1 / Math.sqrt(ss / hidden + c.rmsNormEps());
                for (int g = 0; g < c.numKvHeads(); g++) {
                    double[] raw = new double[d];
                    for (int e = 0; e < d; e++) {
                        int row = g * d + e;
                        double acc = kBias.get(row);
                        for (int i = 0; i < hidden; i++) {
                            acc += kProj.get((long) row * hidden + i) * embed.get((long) tokens[t] * hidden + i) * inv * norm.get(i);
                        }
                        raw[e] = acc;
                    }
                    float[] rotated = Arrays.copyOfRange(keys[0][g], t * d, (t + 1) * d);
                    for (int e = r; e < d; e++) {
                        assertEquals(raw[e], rotated[e], 1e-4 * (1 + Math.abs(raw[e])), "position " + t + " dim " + e + " must pass through");
                    }
                    for (int i = 0; i < r / 2; i++) {  // a rotation keeps the length of each adjacent pair
                        double before = Math.hypot(raw[2 * i], raw[2 * i + 1]);
                        double after = Math.hypot(rotated[2 * i], rotated[2 * i + 1]);
                        assertEquals(before, after, 1e-4 * (1 + before), "position " + t + " pair " + i);
                        if (t > 0 && Math.abs(raw[2 * i] - rotated[2 * i]) > 1e-3) rotatedSomething = true;
                    }
                    if (t == 0) {
                        for (int e = 0; e < d; e++) assertEquals(raw[e], rotated[e], 1e-4 * (1 + Math.abs(raw[e])), "position 0 dim " + e);
                    }
                }
            }
            assertTrue(rotatedSomething, "later positions rotate the rotary half");
        }
    }

    /** Decoding after the pre-fill rotates the fed token as the pre-fill would (GLM's interleaved half rotary). */
    @Test
    void glmDecodingOverTheFullCacheEqualsPrefillingOneMoreToken() {
        TinyModelSpec spec = TinyModelSpec.demo().withArchitecture(Architecture.GLM).withDtype(DType.F32);
        TinyModelWriter.write(dir.resolve("dec"), spec, 9);
        try (LoadedModel model = LoadedModel.open(dir.resolve("dec"))) {
            ModelConfig c = model.config();
            PatternConfig dense = PatternConfig.uniform("t", spec.numLayers(), spec.numHeads(), 0, new HeadPattern.Dense());
            CpuForwardPass forward = new CpuForwardPass(c, model.weights(), dense);
            int[] tokens = randomTokens(60, c.vocabSize(), 13);
            FullKvCapture capture = new FullKvCapture(c.numLayers(), c.numKvHeads());
            forward.forward(tokens, capture);
            int next = randomTokens(1, c.vocabSize(), 14)[0];
            float[] decoded = new CpuDecodeStep(c, model.weights()).logits(capture.cache("m"), next, tokens.length);
            int[] longer = Arrays.copyOf(tokens, tokens.length + 1);
            longer[tokens.length] = next;
            float[] prefilled = forward.forward(longer).lastLogits();
            for (int i = 0; i < prefilled.length; i++) assertEquals(prefilled[i], decoded[i], 1e-4, "logit " + i);
        }
    }

    /** A tiny Phi-3 with longrope over 8 rotary pairs: an original context of 16 tokens, short and long factors far apart. */
    static TinyModelSpec phi3Spec() {
        Random r = new Random(77);
        List<Double> shortFactors = new ArrayList<>(), longFactors = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            shortFactors.add(1 + r.nextDouble());
            longFactors.add(4 + 30 * r.nextDouble());
        }
        TinyModelSpec demo = TinyModelSpec.demo().withArchitecture(Architecture.PHI3).withDtype(DType.F32);
        double factor = (double) demo.maxPositionEmbeddings() / 16;
        return demo.withRopeScaling(RopeScaling.longrope(shortFactors, longFactors, factor, 0, 16));
    }

    private void checkAgainstNaive(TinyModelSpec spec, long seed) {
        checkAgainstNaive(spec, seed, 1, 7, 70);
    }

    private void checkAgainstNaive(TinyModelSpec spec, long seed, int... lengths) {
        TinyModelWriter.write(dir.resolve("m" + seed), spec, seed);
        try (LoadedModel model = LoadedModel.open(dir.resolve("m" + seed))) {
            PatternConfig dense = PatternConfig.uniform("t", spec.numLayers(), spec.numHeads(), 0, new HeadPattern.Dense());
            CpuForwardPass forward = new CpuForwardPass(model.config(), model.weights(), dense);
            NaiveTransformer naive = new NaiveTransformer(model.config(), model.weightStore());
            for (int n : lengths) {
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
