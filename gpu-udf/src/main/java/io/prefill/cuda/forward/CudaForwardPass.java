package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.CudaDevice;
import io.prefill.cuda.CudaException;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.Gemm;
import io.prefill.cuda.HeadWidth;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.LaunchTrace;
import io.prefill.cuda.ModelKernels;
import io.prefill.cuda.forward.StageClock.Stage;
import io.prefill.engine.AttentionStats;
import io.prefill.engine.ForwardBackend;
import io.prefill.engine.ForwardOutput;
import io.prefill.kv.HeadKv;
import io.prefill.kv.KvSummary;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelFormatException;
import io.prefill.model.ModelWeights;
import io.prefill.model.RopeFrequencies;
import io.prefill.settings.PrefillSettings;
import io.prefill.sparse.PatternConfig;

import java.util.Map;
import java.util.function.BiFunction;

/**
 * The whole pre-fill on one GPU, layer by layer, the twin of {@link io.prefill.cpu.CpuForwardPass}:
 * <pre>
 *   x = embed(tokens)                                         fp32 residual [n, hidden]
 *   per layer:
 *     per chunk: Q,K,V = rope(split(rmsnorm(x) · Wqkv))       head-major bf16, whole document
 *     O = attention(Q, K, V) by the layer's head patterns      written over Q
 *     per chunk: x += rows(O) · Wo;  x += swiglu(rmsnorm(x) · Wgate|up) · Wdown
 *   logits = rmsnorm(x[n-1]) · lm_head
 * </pre>
 * Only the current layer's K and V exist (no KV cache); chunk sizes come from {@link MemoryPlan}.
 * Each document gets its own device allocation, released when it ends, so memory in use between
 * documents is just the weights. One document at a time per engine (the GPU is saturated by one).
 */
public final class CudaForwardPass implements ForwardBackend {
    private static final long FREE_MEMORY_MARGIN = 512L << 20;
    private final ModelConfig config;
    private final PatternConfig patterns;
    private final CudaBackendOptions options;
    private final CudaDevice device;
    private final CudaStream stream;
    private final KernelModule module;
    private final DeviceModel model;
    private final Gemm gemm;
    private final ModelKernels ops;
    private final StageClock clock;
    private volatile Map<Stage, Double> lastStageMillis = Map.of();
    private volatile long lastDeviceBytesInUse;
    private volatile MemoryPlan lastPlan;
    private volatile LayerAttention.SelectionOverride selectionOverride;
    private final double minKeptMass;

    private CudaForwardPass(ModelConfig config, PatternConfig patterns, CudaBackendOptions options, CudaDevice device,
                            CudaStream stream, KernelModule module, DeviceModel model, double minKeptMass) {
        this.config = config;
        this.patterns = patterns;
        this.options = options;
        this.device = device;
        this.stream = stream;
        this.module = module;
        this.model = model;
        this.gemm = new Gemm(module, stream);
        this.ops = new ModelKernels(module, stream);
        this.clock = new StageClock(stream, options.profile());
        this.minKeptMass = minKeptMass;
    }

    /** Loads the checkpoint's weights onto the device; fails fast on a model the kernels cannot run. */
    public static CudaForwardPass create(ModelConfig config, ModelWeights weights, PatternConfig patterns,
                                         CudaBackendOptions options) {
        return create(config, weights, patterns, options, 0);
    }

    /**
     * @param minKeptMass a sparse head whose plan keeps less than this share of its last queries'
     *                    attention mass runs dense for that document (0 = never), as the cpu backend does
     */
    public static CudaForwardPass create(ModelConfig config, ModelWeights weights, PatternConfig patterns,
                                         CudaBackendOptions options, double minKeptMass) {
        if (!(minKeptMass >= 0 && minKeptMass <= 1)) throw new IllegalArgumentException("minimum kept mass " + minKeptMass);
        boolean fp8 = DeviceModel.fp8Projections(config, weights);
        CudaForwardPass f = open(config, patterns, options, minKeptMass, fp8,
                (module, stream) -> DeviceModel.load(config, weights, module, stream));
        System.err.printf("[cuda] %s: %.2f GiB of weights loaded in %.1f s%n", f.device,
                f.model.bytes() / (double) (1L << 30), f.model.loadSeconds());
        return f;
    }

    /** Seeded random weights of config's shapes generated on the device (benchmarks, size tests). */
    public static CudaForwardPass synthetic(ModelConfig config, long seed, PatternConfig patterns,
                                            CudaBackendOptions options) {
        return synthetic(config, seed, false, patterns, options);
    }

    /** The same with FP8 projections when fp8 (see {@link DeviceModel#synthetic}). */
    public static CudaForwardPass synthetic(ModelConfig config, long seed, boolean fp8, PatternConfig patterns,
                                            CudaBackendOptions options) {
        return open(config, patterns, options, 0, fp8,
                (module, stream) -> DeviceModel.synthetic(config, seed, fp8, module, stream));
    }

    private static CudaForwardPass open(ModelConfig config, PatternConfig patterns, CudaBackendOptions options,
                                        double minKeptMass, boolean fp8,
                                        BiFunction<KernelModule, CudaStream, DeviceModel> weights) {
        checkSupported(config, patterns);
        if (fp8) checkFp8Shapes(config);
        CudaDevice device = CudaDevice.open(options.device());
        KernelModule module = KernelModule.of(device);
        CudaStream stream = new CudaStream(device);
        try {
            String noFp8 = fp8 ? Gemm.fp8Unsupported(module, stream) : null;
            if (noFp8 != null) throw new CudaException("--weights fp8 on cuda: " + noFp8 + "; run FP8 weights with --backend cpu");
            return new CudaForwardPass(config, patterns, options, device, stream, module, weights.apply(module, stream),
                    minKeptMass);
        } catch (RuntimeException e) {
            stream.close();  // weights that fail to load leave nothing behind
            throw e;
        }
    }

    /**
     * The model shapes the kernels run; a ModelFormatException naming config.json otherwise. A
     * head_dim other than 64 and 128 runs zero-padded to the next kernel width ({@link HeadWidth}).
     */
    public static void checkSupported(ModelConfig c, PatternConfig patterns) {
        String problem = null;
        String rotary = ModelKernels.Rotary.of(c).unsupported(c.headDim());
        String width = HeadWidth.unsupported(c.headDim());
        if (width != null) problem = "head_dim " + c.headDim() + " (" + width + ")";
        else if (c.hiddenSize() % 8 != 0) problem = "hidden_size " + c.hiddenSize() + " (must be a multiple of 8)";
        else if (c.intermediateSize() % 8 != 0)
            problem = "intermediate_size " + c.intermediateSize() + " (must be a multiple of 8)";
        else if (rotary != null) problem = "partial_rotary_factor " + c.partialRotaryFactor() + ": " + rotary;
        if (problem != null) throw new ModelFormatException("config.json: the cuda backend cannot run " + problem);
        patterns.validateFor(c.numLayers(), c.numHeads(), "pattern config");
    }

    /**
     * FP8 projections read 16-byte rows of E4M3 codes: every projection input width (hidden_size,
     * intermediate_size, num_attention_heads * head_dim) must be a multiple of 16; a
     * ModelFormatException naming config.json otherwise.
     */
    public static void checkFp8Shapes(ModelConfig c) {
        if (c.hiddenSize() % 16 != 0 || c.intermediateSize() % 16 != 0 || c.qDim() % 16 != 0) {
            throw new ModelFormatException("config.json: FP8 projections on cuda need hidden_size, intermediate_size and "
                    + "num_attention_heads * head_dim to be multiples of 16; they are " + c.hiddenSize() + ", "
                    + c.intermediateSize() + " and " + c.qDim());
        }
    }

    @Override
    public String name() { return "cuda"; }

    /** Benchmarks only: see {@link LayerAttention.SelectionOverride}; null restores the estimate's choice. */
    void overrideSelections(LayerAttention.SelectionOverride o) { this.selectionOverride = o; }

    public ModelConfig config() { return config; }
    /** The width of the model's heads on the device (padded when head_dim is not 64 or 128). */
    public HeadWidth headWidth() { return headWidth(config); }

    /** The device head width of a model {@link #checkSupported} accepts. */
    public static HeadWidth headWidth(ModelConfig c) { return HeadWidth.of(c.headDim()); }

    /**
     * The layer shape the attention kernels and {@link DeviceLayerObserver}s see for n tokens: the
     * device head width, so padded heads for a head_dim other than 64 and 128.
     */
    public static AttentionShape attentionShape(ModelConfig c, int n) {
        return new AttentionShape(c.numHeads(), c.numKvHeads(), n, headWidth(c).device());
    }

    /** The kernels and stream of this engine's device (for observers that launch their own work). */
    public KernelModule module() { return module; }
    public CudaStream stream() { return stream; }
    public CudaDevice device() { return device; }
    public double weightLoadSeconds() { return model.loadSeconds(); }
    public long weightBytes() { return model.bytes(); }
    /** Device time per stage of the last document (with {@link CudaBackendOptions#profile()}). */
    public Map<Stage, Double> lastStageMillis() { return lastStageMillis; }
    /** Device memory in use (all users) while the last document's working set was allocated. */
    public long lastDeviceBytesInUse() { return lastDeviceBytesInUse; }
    public MemoryPlan lastMemoryPlan() { return lastPlan; }

    @Override
    public ForwardOutput forward(int[] tokens) { return forward(tokens, null, null); }

    /** The pre-fill, handing every layer's Q, K and V to observer before the layer's attention. */
    public ForwardOutput forward(int[] tokens, DeviceLayerObserver observer) { return forward(tokens, null, observer); }

    @Override
    public boolean supportsKvSummary() { return true; }

    /** The pre-fill, also selecting the KV summary on the device layer by layer (see {@link SnapKvGpu}). */
    @Override
    public ForwardOutput forward(int[] tokens, KvSummaryOptions kv) {
        return forward(tokens, new SnapKvGpu(module, stream, kv), null);
    }

    private synchronized ForwardOutput forward(int[] tokens, SnapKvGpu snap, DeviceLayerObserver observer) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("cannot pre-fill an empty prompt");
        for (int t = 0; t < n; t++)
            if (tokens[t] < 0 || tokens[t] >= config.vocabSize())
                throw new IllegalArgumentException("token id " + tokens[t] + " at position " + t
                        + " is outside the vocabulary of " + config.vocabSize());
        device.makeCurrent();
        long budget = options.memoryBudget() > 0 ? options.memoryBudget() : device.freeMemory() - FREE_MEMORY_MARGIN;
        long observerBytes = observer == null ? 0
                : observer.deviceBytes(attentionShape(config, n));
        MemoryPlan plan = MemoryPlan.of(config, patterns, n, budget - observerBytes, options.maxChunkTokens(), model.fp8());
        lastPlan = plan;
        try (DeviceArena arena = new DeviceArena(device, plan.totalBytes() + observerBytes)) {
            lastDeviceBytesInUse = device.totalMemory() - device.freeMemory();
            LaunchTrace trace = PrefillSettings.CUDA_TRACE_GAPS.get() ? new LaunchTrace() : null;
            stream.trace(trace);
            try (trace) {
                clock.start();
                ForwardOutput out = run(tokens, plan, arena, snap, observer);
                lastStageMillis = clock.totals();
                if (trace != null) {
                    System.err.printf("[cuda] where the device waited in the pre-fill of %,d tokens: %s", n,
                            trace.drain().table(15));
                }
                return out;
            } finally {
                stream.trace(null);
            }
        } finally {
            stream.synchronize();
        }
    }

    private ForwardOutput run(int[] tokens, MemoryPlan plan, DeviceArena arena, SnapKvGpu snap,
                              DeviceLayerObserver observer) {
        int n = tokens.length, hidden = config.hiddenSize(), heads = config.numHeads(), kvHeads = config.numKvHeads();
        int d = config.headDim(), inter = config.intermediateSize(), c = plan.chunkTokens();
        int qkvRows = config.qDim() + 2 * config.kvDim();
        float eps = (float) config.rmsNormEps();
        HeadWidth width = headWidth(config);  // Q, K, V and O in rows of width.device(), zero past d
        int dPad = width.device();
        AttentionShape shape = attentionShape(config, n);

        DeviceBuffer x = arena.alloc(4L * n * hidden, "residual");
        DeviceBuffer q = arena.alloc(2L * shape.qElements(), "q");
        DeviceBuffer k = arena.alloc(2L * shape.kvElements(), "k");
        DeviceBuffer v = arena.alloc(2L * shape.kvElements(), "v");
        DeviceBuffer ids = arena.alloc(4L * n, "token ids");
        ModelKernels.Rotary rotary = ModelKernels.Rotary.of(config);
        DeviceBuffer invFreq = arena.alloc(8L * rotary.pairs(), "rope inverse frequencies");
        DeviceBuffer lastRow = arena.alloc(4L * hidden, "last normed row");
        DeviceBuffer logits = arena.alloc(4L * config.vocabSize(), "logits");
        DeviceBuffer normed = arena.alloc(2L * c * hidden, "normed chunk");
        long unionBytes = plan.chunkBytes() - 2L * c * hidden;
        DeviceBuffer union = arena.alloc(unionBytes, "chunk scratch");
        // Pass 1 uses the scratch as fp32 QKV rows; pass 2 as attention rows, gate|up and SwiGLU rows.
        DeviceBuffer qkv = union.slice(0, 4L * c * qkvRows, "qkv chunk");
        DeviceBuffer attnRows = union.slice(0, 2L * c * config.qDim(), "attention rows");
        DeviceBuffer gateUp = union.slice(2L * c * config.qDim(), 4L * c * inter, "gate|up chunk");
        DeviceBuffer act = union.slice(2L * c * config.qDim() + 4L * c * inter, 2L * c * inter, "swiglu chunk");
        Projection project = model.fp8() ? new Projection(arena.alloc(MemoryPlan.fp8CodeBytesPerRow(config) * c,
                "E4M3 chunk rows"), arena.alloc(4L * c, "E4M3 row scales")) : new Projection(null, null);

        ids.upload(stream, tokens);
        invFreq.upload(stream, RopeFrequencies.inverseFrequencies(config, n));
        ops.embedRows(model.embed(), config.vocabSize(), ids, n, hidden, x);
        clock.mark(Stage.OTHER);
        LayerAttention attention = new LayerAttention(module, stream, patterns, clock, selectionOverride, minKeptMass);
        AttentionStats stats = AttentionStats.NONE;
        HeadKv[][] kept = new HeadKv[config.numLayers()][];
        for (int l = 0; l < config.numLayers(); l++) {
            DeviceLayer w = model.layer(l);
            for (int r0 = 0; r0 < n; r0 += c) {
                int rows = Math.min(c, n - r0);
                DeviceBuffer xs = x.slice(4L * r0 * hidden, 4L * rows * hidden, "residual chunk");
                project.normed(xs, w.inputNorm(), normed, w.qkv(), qkv, rows, qkvRows, hidden, Gemm.Output.F32);
                clock.mark(Stage.GEMM);
                ops.ropeSplit(qkv, w.qkvBias(), invFreq, rotary, rows, r0, n, heads, kvHeads, d, dPad, width.qScale(),
                        q, k, v);
                clock.mark(Stage.OTHER);
            }
            if (snap != null) {  // before the attention output overwrites Q
                kept[l] = snap.select(q, k, v, shape, d, arena);
                clock.mark(Stage.OTHER);
            }
            if (observer != null) {
                observer.observe(l, q, k, v, shape, arena);
                clock.mark(Stage.OTHER);
            }
            stats = stats.plus(attention.run(l, q, k, v, q, shape, arena));
            for (int r0 = 0; r0 < n; r0 += c) {
                int rows = Math.min(c, n - r0);
                DeviceBuffer xs = x.slice(4L * r0 * hidden, 4L * rows * hidden, "residual chunk");
                project.headRows(q, heads, n, d, dPad, r0, attnRows, w.o(), xs, rows, hidden, config.qDim(),
                        Gemm.Output.ADD_F32);
                clock.mark(Stage.GEMM);
                if (model.gateUpInterleaved()) {  // silu(gate) * up in the product's epilogue
                    project.normed(xs, w.postAttentionNorm(), normed, w.gateUp(), act, rows, 2 * inter, hidden,
                            Gemm.Output.SWIGLU_BF16);
                    clock.mark(Stage.GEMM);
                } else {
                    project.normed(xs, w.postAttentionNorm(), normed, w.gateUp(), gateUp, rows, 2 * inter, hidden,
                            Gemm.Output.BF16);
                    clock.mark(Stage.GEMM);
                    ops.swiglu(gateUp, rows, inter, act);
                    clock.mark(Stage.OTHER);
                }
                project.run(act, w.down(), xs, rows, hidden, inter, Gemm.Output.ADD_F32);
                clock.mark(Stage.GEMM);
            }
        }
        DeviceBuffer xLast = x.slice(4L * (n - 1) * hidden, 4L * hidden, "last residual row");
        ops.rmsNormF32(xLast, model.finalNorm(), 1, hidden, eps, lastRow);
        ops.gemvRows(model.lmHead(), lastRow, config.vocabSize(), hidden, logits);
        clock.mark(Stage.OTHER);
        float[] out = new float[config.vocabSize()];
        logits.download(stream, out);
        return new ForwardOutput(out, stats, snap == null ? null : new KvSummary(null, n, d, kept));
    }

    /**
     * c (op)= x · W^T for a chunk of bf16 rows x [rows, in]: one bf16 GEMM, or, for FP8 weights,
     * the rows' E4M3 codes and scales first (per row, dynamic) and the FP8 GEMM on them. The
     * kernels that make the rows are timed as OTHER, and so is the quantisation; the caller marks
     * the GEMM. With {@link PrefillSettings#CUDA_FUSED_FP8_QUANTISATION}, the codes of a normed row
     * or of the attention output's row come from the kernel that forms the row (fp8.cuh), the
     * same codes without the bf16 rows in between.
     */
    private final class Projection {
        private final DeviceBuffer codes, scales;
        private final boolean fused = PrefillSettings.CUDA_FUSED_FP8_QUANTISATION.get();

        Projection(DeviceBuffer codes, DeviceBuffer scales) {
            this.codes = codes;
            this.scales = scales;
        }

        void run(DeviceBuffer x, DeviceLinear w, DeviceBuffer c, int rows, int out, int in, Gemm.Output op) {
            if (!w.fp8()) {
                gemm.run(x, w.weight(), c, rows, out, in, op, null);
                return;
            }
            ops.quantizeRowsE4m3(x, rows, in, codes, scales);
            clock.mark(Stage.OTHER);
            onCodes(w, c, rows, out, in, op);
        }

        /** The projection of RMSNorm(xs) (fp32 rows, `norm` weights), through the bf16 rows `normed` unless fused. */
        void normed(DeviceBuffer xs, DeviceBuffer norm, DeviceBuffer normed, DeviceLinear w, DeviceBuffer c, int rows,
                    int out, int in, Gemm.Output op) {
            if (fused && w.fp8()) {
                ops.rmsNormE4m3(xs, norm, rows, in, eps(), codes, scales);
                clock.mark(Stage.OTHER);
                onCodes(w, c, rows, out, in, op);
                return;
            }
            ops.rmsNormBf16(xs, norm, rows, in, eps(), normed);
            clock.mark(Stage.OTHER);
            run(normed, w, c, rows, out, in, op);
        }

        /**
         * The projection of rows [r0, r0 + rows) of the head-major attention output o, through the
         * token-major bf16 rows `attnRows` unless fused.
         */
        void headRows(DeviceBuffer o, int heads, int n, int d, int dPad, int r0, DeviceBuffer attnRows, DeviceLinear w,
                      DeviceBuffer c, int rows, int out, int in, Gemm.Output op) {
            if (fused && w.fp8()) {
                ops.headsToRowsE4m3(o, heads, n, d, dPad, r0, rows, codes, scales);
                clock.mark(Stage.OTHER);
                onCodes(w, c, rows, out, in, op);
                return;
            }
            ops.headsToRows(o, heads, n, d, dPad, r0, rows, attnRows);
            clock.mark(Stage.OTHER);
            run(attnRows, w, c, rows, out, in, op);
        }

        private void onCodes(DeviceLinear w, DeviceBuffer c, int rows, int out, int in, Gemm.Output op) {
            gemm.runFp8(codes, scales, w.weight(), w.rowScales(), c, rows, out, in, op, null);
        }

        private float eps() { return (float) config.rmsNormEps(); }
    }

    @Override
    public synchronized void close() {
        device.makeCurrent();
        clock.close();
        model.close();
        stream.close();
    }
}
