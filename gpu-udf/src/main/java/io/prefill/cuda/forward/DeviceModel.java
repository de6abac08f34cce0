package io.prefill.cuda.forward;

import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.Kernel.Dim3;
import io.prefill.cuda.KernelModule;
import io.prefill.model.LayerWeights;
import io.prefill.model.ModelConfig;
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

    private DeviceModel(ModelConfig config, DeviceArena arena, DeviceBuffer embed, DeviceBuffer lmHead,
                        DeviceBuffer finalNorm, List<DeviceLayer> layers, double loadSeconds) {
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
    public long bytes() { return arena.capacity(); }

    /** Device bytes of all weights: bf16 matrices, fp32 norms and biases, lm_head shared when tied. */
    static long bytes(ModelConfig c) {
        long h = c.hiddenSize(), qkvRows = c.qDim() + 2L * c.kvDim(), slack = 256L * (7 * c.numLayers() + 4);
        long layer = 2L * qkvRows * h + 2L * h * c.qDim() + 2L * 2 * c.intermediateSize() * h
                + 2L * h * c.intermediateSize() + 4L * 2 * h + (c.qkvBias() ? 4L * qkvRows : 0);
        long matrices = 2L * c.vocabSize() * h * (c.tieWordEmbeddings() ? 1 : 2);
        return matrices + 4L * h + c.numLayers() * layer + slack;
    }

    /** Uploads every tensor through pinned staging buffers; f32/f16 checkpoints are converted on the device. */
    public static DeviceModel load(ModelConfig c, ModelWeights w, KernelModule module, CudaStream stream) {
        long start = System.nanoTime();
        DeviceArena arena = new DeviceArena(module.device(), bytes(c));
        try (WeightUpload up = new WeightUpload(module, stream)) {
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
                long qRows = c.qDim(), kvRows = c.kvDim();
                DeviceBuffer qkv = arena.alloc(2L * (qRows + 2 * kvRows) * h, "layer" + l + ".qkv");
                up.matrix(lw.q(), qkv, 0);
                up.matrix(lw.k(), qkv, qRows * h);
                up.matrix(lw.v(), qkv, (qRows + kvRows) * h);
                DeviceBuffer bias = null;
                if (c.qkvBias()) {
                    bias = arena.alloc(4L * (qRows + 2 * kvRows), "layer" + l + ".qkv_bias");
                    up.floats(concat(lw.qBias(), lw.kBias(), lw.vBias()), bias);
                }
                DeviceBuffer o = arena.alloc(2L * h * qRows, "layer" + l + ".o");
                up.matrix(lw.o(), o, 0);
                long inter = c.intermediateSize();
                DeviceBuffer gateUp = arena.alloc(2L * 2 * inter * h, "layer" + l + ".gate_up");
                up.matrix(lw.gate(), gateUp, 0);
                up.matrix(lw.up(), gateUp, inter * h);
                DeviceBuffer down = arena.alloc(2L * h * inter, "layer" + l + ".down");
                up.matrix(lw.down(), down, 0);
                layers.add(new DeviceLayer(qkv, bias, o, gateUp, down, up.vector(lw.inputNorm(), arena),
                        up.vector(lw.postAttentionNorm(), arena)));
            }
            up.finish();
            return new DeviceModel(c, arena, embed, lmHead, finalNorm, List.copyOf(layers),
                    (System.nanoTime() - start) / 1e9);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
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
     * Seeded N(0, sigma) bf16 matrices generated on the device (no checkpoint, no host traffic)
     * and unit norm weights: the shapes and the work of a real model, for benchmarks and size
     * tests. sigma = 0.02 as in the usual initializer; the output is meaningless, the time is not.
     */
    public static DeviceModel synthetic(ModelConfig c, long seed, KernelModule module, CudaStream stream) {
        long start = System.nanoTime();
        DeviceArena arena = new DeviceArena(module.device(), bytes(c));
        try {
            Synth s = new Synth(module, stream, seed);
            long h = c.hiddenSize(), qkvRows = c.qDim() + 2L * c.kvDim(), inter = c.intermediateSize();
            DeviceBuffer embed = s.matrix(arena.alloc(2L * c.vocabSize() * h, "embed_tokens"));
            DeviceBuffer lmHead = c.tieWordEmbeddings() ? embed : s.matrix(arena.alloc(2L * c.vocabSize() * h, "lm_head"));
            DeviceBuffer finalNorm = s.ones(arena.alloc(4L * h, "norm"), (int) h);
            List<DeviceLayer> layers = new ArrayList<>();
            for (int l = 0; l < c.numLayers(); l++) {
                DeviceBuffer bias = c.qkvBias() ? s.zeros(arena.alloc(4L * qkvRows, "layer" + l + ".qkv_bias")) : null;
                layers.add(new DeviceLayer(s.matrix(arena.alloc(2L * qkvRows * h, "layer" + l + ".qkv")), bias,
                        s.matrix(arena.alloc(2L * h * c.qDim(), "layer" + l + ".o")),
                        s.matrix(arena.alloc(2L * 2 * inter * h, "layer" + l + ".gate_up")),
                        s.matrix(arena.alloc(2L * h * inter, "layer" + l + ".down")),
                        s.ones(arena.alloc(4L * h, "layer" + l + ".input_norm"), (int) h),
                        s.ones(arena.alloc(4L * h, "layer" + l + ".post_norm"), (int) h)));
            }
            stream.synchronize();
            return new DeviceModel(c, arena, embed, lmHead, finalNorm, List.copyOf(layers),
                    (System.nanoTime() - start) / 1e9);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

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
                    (int) (seed * 1_000_003L + next++), 0.02f);
            return b;
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
