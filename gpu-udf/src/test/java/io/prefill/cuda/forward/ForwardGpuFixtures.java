package io.prefill.cuda.forward;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prefill.cuda.CudaAvailability;
import io.prefill.model.Architecture;
import io.prefill.model.DType;
import io.prefill.model.RopeScaling;
import io.prefill.model.TinyModelSpec;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.model.SafetensorsModelWeights;
import io.prefill.model.TinyModelWriter;
import io.prefill.model.WeightStore;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;

/**
 * Tiny models the kernels can run (head_dim 64/128 natively, 96/80/48 padded to 128/64) and the
 * checks shared by the forward GPU tests.
 */
final class ForwardGpuFixtures {
    private ForwardGpuFixtures() { }

    /** A tiny checkpoint's config and mapped weights, without its tokenizer (the GPU bundle has none). */
    record Checkpoint(ModelConfig config, ModelWeights weights, WeightStore store) implements AutoCloseable {
        static Checkpoint write(Path dir, TinyModelSpec spec, long seed) {
            TinyModelWriter.write(dir, spec, seed);
            ModelConfig c = ModelConfig.read(dir.resolve("config.json"));
            WeightStore store = WeightStore.open(dir);
            return new Checkpoint(c, SafetensorsModelWeights.bind(c, store), store);
        }

        @Override public void close() { store.close(); }
    }

    static void assumeGpu() {
        CudaAvailability a = CudaAvailability.probe();
        Assumptions.assumeTrue(a.available(), () -> "CUDA backend unavailable: " + a.reason());
    }

    /** Llama, GQA 2, head_dim 64, bf16. */
    static TinyModelSpec llama64() {
        return new TinyModelSpec(Architecture.LLAMA, 256, 688, 2, 4, 2, 64, 500000.0, RopeScaling.NONE, false,
                DType.BF16, 1 << 20);
    }

    /** Qwen2 with q/k/v bias and tied embeddings, stored in f32 (converted to bf16 on the device). */
    static TinyModelSpec qwen64f32() {
        return new TinyModelSpec(Architecture.QWEN2, 256, 688, 2, 4, 2, 64, 1000000.0, RopeScaling.NONE, true,
                DType.F32, 1 << 20);
    }

    /** Llama, GQA 8, head_dim 128, 3 layers. */
    static TinyModelSpec llama128gqa8() {
        return new TinyModelSpec(Architecture.LLAMA, 512, 1024, 3, 8, 1, 128, 500000.0, RopeScaling.NONE, false,
                DType.BF16, 1 << 20);
    }

    /**
     * Phi-3 shaped: head_dim 96 (run padded to 128), GQA 2, fused qkv_proj and gate_up_proj,
     * longrope over all 48 pairs with an original context of 512 (so documents of up to 512
     * tokens take the short factors, longer ones the long factors) and its cos/sin scale.
     */
    static TinyModelSpec phi3d96() {
        Random r = new Random(96);
        List<Double> shortFactors = new ArrayList<>(), longFactors = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            shortFactors.add(1 + 0.5 * r.nextDouble());
            longFactors.add(2 + 8 * r.nextDouble());
        }
        int maxPositions = 32768, original = 512;
        return new TinyModelSpec(Architecture.PHI3, 384, 1024, 2, 4, 2, 96, 10000.0,
                RopeScaling.longrope(shortFactors, longFactors, (double) maxPositions / original, 0, original), false,
                DType.BF16, maxPositions);
    }

    /** Llama, GQA 2, head_dim 80 (run padded to 128), bf16. */
    static TinyModelSpec llama80() {
        return new TinyModelSpec(Architecture.LLAMA, 320, 864, 2, 4, 2, 80, 500000.0, RopeScaling.NONE, false,
                DType.BF16, 1 << 20);
    }

    /** Qwen2 with q/k/v bias, head_dim 48 (run padded to 64), GQA 2. */
    static TinyModelSpec qwen48() {
        return new TinyModelSpec(Architecture.QWEN2, 192, 512, 2, 4, 2, 48, 1000000.0, RopeScaling.NONE, true,
                DType.BF16, 1 << 20);
    }

    static PatternConfig dense(TinyModelSpec s) {
        return PatternConfig.uniform("dense", s.numLayers(), s.numHeads(), 0, new HeadPattern.Dense());
    }

    static PatternConfig uniform(TinyModelSpec s, int minSparse, HeadPattern p) {
        return PatternConfig.uniform("uniform", s.numLayers(), s.numHeads(), minSparse, p);
    }

    /** The layers mix all five patterns across their heads (head h takes pattern (h + layer) % 5). */
    static PatternConfig mixed(TinyModelSpec s, int minSparse) {
        HeadPattern[] choices = {new HeadPattern.Dense(), new HeadPattern.VerticalSlash(40, 100),
            new HeadPattern.AShape(16, 200), new HeadPattern.BlockSparse(4), new HeadPattern.Adaptive(0.9, 30, 600)};
        List<List<HeadPattern>> layers = new ArrayList<>();
        for (int l = 0; l < s.numLayers(); l++) {
            List<HeadPattern> heads = new ArrayList<>();
            for (int h = 0; h < s.numHeads(); h++) heads.add(choices[(h + l) % choices.length]);
            layers.add(heads);
        }
        return new PatternConfig("mixed", s.numLayers(), s.numHeads(), minSparse, layers);
    }

    static int[] tokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /**
     * ||got - ref|| / ||ref|| <= tol, every logit finite, and the same argmax unless the reference's
     * top two are closer than the error itself (then either is accepted).
     */
    static double assertLogitsClose(float[] ref, float[] got, double tol, String what) {
        assertTrue(ref.length == got.length, what + ": " + got.length + " logits, expected " + ref.length);
        double num = 0, den = 0, maxErr = 0;
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Float.isFinite(got[i]), what + ": logit " + i + " is " + got[i]);
            double e = got[i] - ref[i];
            num += e * e;
            den += (double) ref[i] * ref[i];
            maxErr = Math.max(maxErr, Math.abs(e));
        }
        double rel = Math.sqrt(num / den);
        assertTrue(rel <= tol, String.format("%s: relative error %.3g > %.3g", what, rel, tol));
        int a = argmax(ref), b = argmax(got);
        if (a != b) {
            double gap = ref[a] - ref[b];
            double worst = maxErr;
            assertTrue(gap <= 2 * worst, String.format("%s: argmax %d, reference %d (gap %.4g, max error %.4g)",
                    what, b, a, gap, worst));
        }
        return rel;
    }

    /** N(0, sigma) values already rounded to bf16, so the CPU reference and the GPU see the same inputs. */
    static float[] randomBf16(Random r, long count, double sigma) {
        float[] x = new float[Math.toIntExact(count)];
        for (int i = 0; i < x.length; i++) x[i] = io.prefill.cuda.Bf16.round((float) (r.nextGaussian() * sigma));
        return x;
    }

    static io.prefill.cuda.DeviceBuffer upload(io.prefill.cuda.DeviceArena arena, io.prefill.cuda.CudaStream s, float[] x) {
        io.prefill.cuda.DeviceBuffer b = arena.alloc(2L * x.length, "input");
        b.upload(s, io.prefill.cuda.Bf16.fromFloats(x));
        return b;
    }

    /** Head h's [n, d] rows of a head-major [heads, n, d] array. */
    static float[] head(float[] all, int h, int n, int d) {
        float[] out = new float[n * d];
        System.arraycopy(all, h * n * d, out, 0, n * d);
        return out;
    }
}
