package io.prefill.cuda.forward;

import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.Gemm;
import io.prefill.cuda.Kernel.Dim3;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.ModelKernels;
import io.prefill.model.Fp8Weight;
import io.prefill.model.LayerWeights;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelFormatException;
import io.prefill.model.ModelWeights;
import io.prefill.model.TensorView;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A model's weights resident on one GPU, in one allocation sized exactly: loaded once per
 * executor and device from the mapped checkpoint ({@link #load}), or generated on the device
 * from a seed for benchmarks of real shapes without a checkpoint ({@link #synthetic}).
 */
public final class DeviceModel implements AutoCloseable {
    private final ModelConfig config;
    private final DeviceArena arena;
    private final DeviceBuffer embed, lmHead, finalNorm;
    private final List<DeviceLayer> layers;
    private final double loadSeconds;
    private final boolean fp8, gateUpInterleaved;

    private DeviceModel(ModelConfig config, DeviceArena arena, DeviceBuffer embed, DeviceBuffer lmHead,
                        DeviceBuffer finalNorm, List<DeviceLayer> layers, double loadSeconds, boolean fp8,
                        boolean gateUpInterleaved) {
        this.fp8 = fp8;
        this.gateUpInterleaved = gateUpInterleaved;
        this.config = config;
        this.arena = arena;
        this.embed = embed;
        this.lmHead = lmHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.loadSeconds = loadSeconds;
    }

    public ModelConfig config() { return config; }
    public DeviceBuffer embed() { return embed; }
    public DeviceBuffer lmHead() { return lmHead; }
    public DeviceBuffer finalNorm() { return finalNorm; }
    public DeviceLayer layer(int l) { return layers.get(l); }
    public double loadSeconds() { return loadSeconds; }
    /** Whether the projections are FP8 codes with row scales (else bf16). */
    public boolean fp8() { return fp8; }
    /**
     * Whether each layer's gate/up weight has its rows interleaved in blocks of
     * {@link Gemm#SWIGLU_BLOCK} for the fused SwiGLU product ({@link Gemm.Output#SWIGLU_BF16}), else
     * stacked (gate rows, then up rows). Chosen at load: interleaved where this device's GEMM fuses
     * ({@link Gemm#fusesSwiglu}).
     */
    public boolean gateUpInterleaved() { return gateUpInterleaved; }
    public long bytes() { return arena.capacity(); }

    /** Device bytes of all weights with bf16 projections (see {@link #bytes(ModelConfig, boolean)}). */
    static long bytes(ModelConfig c) { return bytes(c, false); }

    /**
     * Device bytes of all weights: projections in bf16 or, when fp8, as E4M3 codes plus one fp32
     * scale per output row; embeddings and lm_head bf16 (lm_head shared when tied); fp32 norms and
     * biases.
     */
    static long bytes(ModelConfig c, boolean fp8) {
        long h = c.hiddenSize(), qkvRows = c.qDim() + 2L * c.kvDim(), slack = 256L * (11 * c.numLayers() + 4);
        long elements = qkvRows * h + h * c.qDim() + 2L * c.intermediateSize() * h + h * c.intermediateSize();
        long rows = qkvRows + h + 2L * c.intermediateSize() + h;
        long projections = fp8 ? elements + 4L * rows : 2L * elements;
        long layer = projections + 4L * 2 * h + (c.qkvBias() ? 4L * qkvRows : 0);
        long matrices = 2L * c.vocabSize() * h * (c.tieWordEmbeddings() ? 1 : 2);
        return matrices + 4L * h + c.numLayers() * layer + slack;
    }

    /** Whether the projections of these weights are FP8 ({@link Fp8Weight}); all or none must be. */
    static boolean fp8Projections(ModelConfig c, ModelWeights w) {
        boolean fp8 = w.layer(0).q() instanceof Fp8Weight;
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights lw = w.layer(l);
            for (TensorView t : List.of(lw.q(), lw.k(), lw.v(), lw.o(), lw.gate(), lw.up(), lw.down()))
                if ((t instanceof Fp8Weight) != fp8)
                    throw new ModelFormatException(t.name() + " is " + t.dtype() + " where layer 0's q projection is "
                            + w.layer(0).q().dtype() + ": the cuda backend runs all projections in one format");
        }
        return fp8;
    }

    /**
     * Uploads every tensor through pinned staging buffers; f32/f16 checkpoints are converted on the
     * device. FP8 projections ({@link Fp8Weight}: --weights fp8 or an FP8 checkpoint) go as their
     * codes with their row scales.
     */
    public static DeviceModel load(ModelConfig c, ModelWeights w, KernelModule module, CudaStream stream) {
        long start = System.nanoTime();
        boolean fp8 = fp8Projections(c, w);
        boolean interleave = new Gemm(module, stream).fusesSwiglu(c.intermediateSize());
        DeviceArena arena = new DeviceArena(module.device(), bytes(c, fp8));
        // the stacked gate/up of one layer, from which the interleaved rows are copied
        long stagingBytes = interleave ? (fp8 ? 1L : 2L) * 2 * c.intermediateSize() * c.hiddenSize() + 256 : 0;
        try (WeightUpload up = new WeightUpload(module, stream);
             DeviceArena staging = interleave ? new DeviceArena(module.device(), stagingBytes) : null) {
            long h = c.hiddenSize();
            DeviceBuffer embed = arena.alloc(2L * c.vocabSize() * h, "embed_tokens");
            up.matrix(w.embedTokens(), embed, 0);
            DeviceBuffer lmHead = embed;
            if (!c.tieWordEmbeddings()) {
                lmHead = arena.alloc(2L * c.vocabSize() * h, "lm_head");
                up.matrix(w.lmHead(), lmHead, 0);
            }
            DeviceBuffer finalNorm = up.vector(w.finalNorm(), arena);
            List<DeviceLayer> layers = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) {
                LayerWeights lw = w.layer(l);
                long qRows = c.qDim(), kvRows = c.kvDim(), inter = c.intermediateSize();
                String name = "layer" + l;
                DeviceLinear qkv = stacked(up, arena, fp8, name + ".qkv", h, lw.q(), lw.k(), lw.v());
                DeviceBuffer bias = null;
                if (c.qkvBias()) {
                    bias = arena.alloc(4L * (qRows + 2 * kvRows), name + ".qkv_bias");
                    up.floats(concat(lw.qBias(), lw.kBias(), lw.vBias()), bias);
                }
                DeviceLinear o = stacked(up, arena, fp8, name + ".o", qRows, lw.o());
                DeviceLinear gateUp = interleave
                        ? interleavedGateUp(up, arena, fp8, name + ".gate_up", h, inter, lw.gate(), lw.up(),
                                staging.alloc(stagingBytes - 256, "stacked gate_up"), stream)
                        : stacked(up, arena, fp8, name + ".gate_up", h, lw.gate(), lw.up());
                if (interleave) staging.reset(0);
                DeviceLinear down = stacked(up, arena, fp8, name + ".down", inter, lw.down());
                layers.add(new DeviceLayer(qkv, bias, o, gateUp, down, up.vector(lw.inputNorm(), arena),
                        up.vector(lw.postAttentionNorm(), arena)));
            }
            up.finish();
            return new DeviceModel(c, arena, embed, lmHead, finalNorm, List.copyOf(layers),
                    (System.nanoTime() - start) / 1e9, fp8, interleave);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Projections [rows_i, in] stacked row-wise into one device matrix (and their row scales when fp8). */
    private static DeviceLinear stacked(WeightUpload up, DeviceArena arena, boolean fp8, String label, long in,
                                        TensorView... parts) {
        long rows = 0;
        for (TensorView t : parts) rows += t.shape()[0];
        DeviceBuffer weight = arena.alloc((fp8 ? 1L : 2L) * rows * in, label);
        DeviceBuffer scales = fp8 ? arena.alloc(4L * rows, label + ".row_scales") : null;
        return stackedInto(up, weight, scales, in, parts);
    }

    /** The parts stacked row-wise into weight (and their row scales into scales, when not null). */
    private static DeviceLinear stackedInto(WeightUpload up, DeviceBuffer weight, DeviceBuffer scales, long in,
                                            TensorView... parts) {
        long row = 0;
        for (TensorView t : parts) {
            up.matrix(t, weight, row * in);
            if (scales != null) up.floats(((Fp8Weight) t).rowScales(), scales, row);
            row += t.shape()[0];
        }
        return new DeviceLinear(weight, scales);
    }

    /**
     * The gate and up projections [inter, in] as one weight with their rows interleaved in blocks of
     * {@link Gemm#SWIGLU_BLOCK} ({@link Gemm#interleaveGateUp}): uploaded stacked into `staging`,
     * then each block copied to its place on the device (and the FP8 row scales permuted alike).
     */
    private static DeviceLinear interleavedGateUp(WeightUpload up, DeviceArena arena, boolean fp8, String label, long in,
                                                  long inter, TensorView gate, TensorView upProj, DeviceBuffer staging,
                                                  CudaStream stream) {
        DeviceLinear stackedOnes = stackedInto(up, staging, fp8 ? arena.alloc(4L * 2 * inter, label + ".row_scales") : null,
                in, gate, upProj);
        long eb = fp8 ? 1 : 2, rows = 2 * inter, blockBytes = eb * Gemm.SWIGLU_BLOCK * in;
        DeviceBuffer weight = arena.alloc(eb * rows * in, label);
        for (long r = 0; r < rows; r += Gemm.SWIGLU_BLOCK) {
            long from = Gemm.interleaveGateUp(r, inter);
            weight.slice(eb * r * in, blockBytes, label).copyFrom(stream, staging.slice(eb * from * in, blockBytes, label));
        }
        if (fp8) {
            float[] g = ((Fp8Weight) gate).rowScales(), u = ((Fp8Weight) upProj).rowScales(), all = new float[(int) rows];
            for (int r = 0; r < rows; r++) {
                long from = Gemm.interleaveGateUp(r, inter);
                all[r] = from < inter ? g[(int) from] : u[(int) (from - inter)];
            }
            up.floats(all, stackedOnes.rowScales());
        }
        return new DeviceLinear(weight, stackedOnes.rowScales());
    }

    private static float[] concat(TensorView... parts) {
        int total = 0;
        for (TensorView t : parts) total += Math.toIntExact(t.numel());
        float[] out = new float[total];
        int at = 0;
        for (TensorView t : parts) {
            float[] v = t.toFloatArray();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    /**
     * Seeded N(0, sigma) matrices generated on the device (no checkpoint, no host traffic) and unit
     * norm weights: the shapes and the work of a real model, for benchmarks and size tests. sigma =
     * 0.02 as in the usual initializer; the output is meaningless, the time is not. With fp8 the
     * projections are E4M3 codes of N(0, 1) draws with row scale sigma (a 70B shape fits one GPU
     * that way); embeddings and lm_head stay bf16.
     */
    public static DeviceModel synthetic(ModelConfig c, long seed, boolean fp8, KernelModule module, CudaStream stream) {
        long start = System.nanoTime();
        DeviceArena arena = new DeviceArena(module.device(), bytes(c, fp8));
        try {
            Synth s = new Synth(module, stream, seed);
            long h = c.hiddenSize(), qkvRows = c.qDim() + 2L * c.kvDim(), inter = c.intermediateSize();
            DeviceBuffer embed = s.matrix(arena.alloc(2L * c.vocabSize() * h, "embed_tokens"));
            DeviceBuffer lmHead = c.tieWordEmbeddings() ? embed : s.matrix(arena.alloc(2L * c.vocabSize() * h, "lm_head"));
            DeviceBuffer finalNorm = s.ones(arena.alloc(4L * h, "norm"), (int) h);
            List<DeviceLayer> layers = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) {
                String name = "layer" + l;
                DeviceBuffer bias = c.qkvBias() ? s.zeros(arena.alloc(4L * qkvRows, name + ".qkv_bias")) : null;
                layers.add(new DeviceLayer(s.linear(arena, fp8, name + ".qkv", qkvRows, h), bias,
                        s.linear(arena, fp8, name + ".o", h, c.qDim()),
                        s.linear(arena, fp8, name + ".gate_up", 2 * inter, h),
                        s.linear(arena, fp8, name + ".down", h, inter),
                        s.ones(arena.alloc(4L * h, name + ".input_norm"), (int) h),
                        s.ones(arena.alloc(4L * h, name + ".post_norm"), (int) h)));
            }
            stream.synchronize();
            // random weights: any row order is the same distribution, so they take the layout the GEMM fuses
            return new DeviceModel(c, arena, embed, lmHead, finalNorm, List.copyOf(layers),
                    (System.nanoTime() - start) / 1e9, fp8, new Gemm(module, stream).fusesSwiglu(inter));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static final float SIGMA = 0.02f;

    private static final class Synth {
        private final KernelModule module;
        private final CudaStream stream;
        private int next;
        private final long seed;

        Synth(KernelModule module, CudaStream stream, long seed) {
            this.module = module;
            this.stream = stream;
            this.seed = seed;
        }

        DeviceBuffer matrix(DeviceBuffer b) {
            module.kernel("fill_random_bf16_k").launch(stream, Dim3.of(4096), 256, 0, b, b.bytes() / 2,
                    (int) (seed * 1_000_003L + next++), SIGMA);
            return b;
        }

        DeviceLinear linear(DeviceArena arena, boolean fp8, String label, long rows, long in) {
            if (!fp8) return DeviceLinear.bf16(matrix(arena.alloc(2L * rows * in, label)));
            DeviceBuffer codes = arena.alloc(rows * in, label);
            module.kernel("fill_random_e4m3_k").launch(stream, Dim3.of(4096), 256, 0, codes, codes.bytes(),
                    (int) (seed * 1_000_003L + next++));
            DeviceBuffer scales = arena.alloc(4L * rows, label + ".row_scales");
            new ModelKernels(module, stream).fillF32(scales, rows, SIGMA);
            return new DeviceLinear(codes, scales);
        }

        DeviceBuffer ones(DeviceBuffer b, int count) {
            float[] one = new float[count];
            Arrays.fill(one, 1f);
            b.upload(stream, one);
            return b;
        }

        DeviceBuffer zeros(DeviceBuffer b) {
            b.zero(stream);
            return b;
        }
    }

    @Override
    public void close() { arena.close(); }
}
