package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import io.prefill.settings.PrefillSettings;
import io.prefill.cuda.Kernel.Dim3;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * The model's projections on the tensor cores (gemm.cuh): C[m,n] (op)= A[m,k] · W[n,k]^T (+ bias[n]),
 * bf16 operands, fp32 accumulation. A is row-major activations [m, k]; W is a PyTorch Linear weight
 * [out = n, in = k] as stored (row-major, k contiguous), so no transpose is ever materialised.
 *
 * <p>Buffers must start 16-byte aligned (arena allocations are 256-aligned; a slice must start at a
 * multiple of 16 bytes): the kernel reads 16-byte chunks with cp.async. n and k must be multiples
 * of 8 for the same reason (every row starts on a 16-byte boundary); m is free.
 */
public final class Gemm {
    /** What the kernel does with the result. */
    public enum Output {
        /** C (bf16) = result. */
        BF16("bf16", 2),
        /** C (fp32) = result. */
        F32("f32", 4),
        /** C (fp32) += result: the residual add after the O- and down-projections. */
        ADD_F32("add_f32", 4),
        /**
         * C (bf16) [m, n / 2] = silu(gate) * up: the MLP's gate and up projections in one product,
         * W's rows interleaved in blocks of {@link #SWIGLU_BLOCK} (gate rows 128b.., then up rows
         * 128b.., see {@link #interleaveGateUp}), n a multiple of 256. Each of gate and up is rounded
         * to bf16 first, so the result is bit for bit that of a BF16 product followed by
         * {@link ModelKernels#swiglu} on the stacked layout. {@link Tile#TMA_128x256} only
         * ({@link #fusesSwiglu}).
         */
        SWIGLU_BF16("swiglu_bf16", 2);

        final String suffix;
        final int bytes;

        Output(String suffix, int bytes) {
            this.suffix = suffix;
            this.bytes = bytes;
        }

        /** Bytes of C for an m x n product. */
        long cBytes(long m, long n) { return (long) bytes * m * (this == SWIGLU_BF16 ? n / 2 : n); }

        String cShape() {
            return switch (this) {
                case BF16 -> "c [m, n] bf16";
                case SWIGLU_BF16 -> "c [m, n / 2] bf16";
                default -> "c [m, n] fp32";
            };
        }
    }

    /** Rows per gate (and per up) block of {@link Output#SWIGLU_BF16}'s interleaved weight. */
    public static final int SWIGLU_BLOCK = 128;

    /**
     * Row r of the interleaved gate/up weight {@link Output#SWIGLU_BF16} reads, as a row of the
     * stacked one (gate rows 0 .. inter-1, then up rows inter .. 2 inter-1).
     */
    public static long interleaveGateUp(long r, long inter) {
        long block = r / (2 * SWIGLU_BLOCK), within = r % (2 * SWIGLU_BLOCK);
        long feature = block * SWIGLU_BLOCK + within % SWIGLU_BLOCK;
        return within < SWIGLU_BLOCK ? feature : inter + feature;
    }

    /** Whether this GEMM runs {@link Output#SWIGLU_BF16}: the persistent kernel, for an intermediate size of whole blocks. */
    public boolean fusesSwiglu(long inter) { return tile.persistent() && inter % SWIGLU_BLOCK == 0; }

    /**
     * Kernels of gemm.cuh (BK = one 128-byte row per k-tile; shared memory = stages x (BM + BN) x 128
     * bytes + slack). TMA_128x256: Hopper wgmma, persistent and warp-specialised (a producer
     * warpgroup loads each k-tile with TMA copies, two consumer warpgroups of m64n256k16 wait on
     * mbarriers and store a tile while the next one loads; 384 threads, one CTA per SM, clusters of
     * two CTAs on neighbouring M-tiles that fetch the shared W tile once for both), 4 stages, 192 KB
     * + the barriers + 1 KB alignment slack; sm_90a build and a driver that makes tensor maps and
     * answers cluster occupancy ({@link TensorMap#unavailable}). WGMMA_128x256: the same tile and ring with every thread
     * loading by cp.async and a block barrier per k-tile (256 threads, one CTA per tile); real wgmma
     * only in the sm_90a build, elsewhere it runs the T128x256 code (see {@link Gemm#wgmmaLoaded}).
     * T128x256: mma.sync, 64x64 warp tiles, 4 stages, 192 KB (Hopper's 227 KB opt-in, not the A100's
     * 163 KB nor sm_86/89's 99 KB). T128x128: mma.sync, 64x32 warp tiles, 3 stages, 96 KB, runs on
     * every sm_80+ card. FP8 ({@link #runFp8}) runs gemm_fp8_tma_128x256_* under TMA_128x256 and
     * gemm_fp8_wgmma_128x256_* under every other tile.
     */
    public enum Tile {
        TMA_128x256("gemm_tma_128x256_", "gemm_fp8_tma_128x256_", 128, 256, 4, 1024 + 2 * 4 * 8, 384),
        WGMMA_128x256("gemm_wgmma_128x256_", "gemm_fp8_wgmma_128x256_", 128, 256, 4, 1024, 256),
        T128x256("gemm_128x256_", "gemm_fp8_wgmma_128x256_", 128, 256, 4, 0, 256),
        T128x128("gemm_128x128_", "gemm_fp8_wgmma_128x256_", 128, 128, 3, 0, 256);

        final String prefix, fp8Prefix;
        final int bm, bn, stages, slack, threads;

        Tile(String prefix, String fp8Prefix, int bm, int bn, int stages, int slack, int threads) {
            this.prefix = prefix;
            this.fp8Prefix = fp8Prefix;
            this.bm = bm;
            this.bn = bn;
            this.stages = stages;
            this.slack = slack;
            this.threads = threads;
        }

        public int smemBytes() { return stages * (bm + bn) * 64 * 2 + slack; }

        long ctas(int m, int n) { return (long) ((m + bm - 1) / bm) * ((n + bn - 1) / bn); }

        /**
         * Whether the kernel loops over work units in clusters of {@link #CLUSTER} CTAs (grid = at
         * most the clusters that fit at once) and reads tensor maps.
         */
        boolean persistent() { return this == TMA_128x256; }

        /** Work units of the persistent kernel: pairs of M-tiles with one N-tile (gemm_tma.cuh). */
        long units(int m, int n) { return (long) ((m + CLUSTER * bm - 1) / (CLUSTER * bm)) * ((n + bn - 1) / bn); }
    }

    /** CTAs per cluster of the persistent kernel (gemm_tma.cuh's GEMM_TMA_CLUSTER, compiled into it). */
    static final int CLUSTER = 2;
    private static final Map<String, Integer> ACTIVE_CLUSTERS = new ConcurrentHashMap<>();

    /**
     * The persistent kernel's grid: one cluster per work unit, at most as many as run at once (a
     * cluster that waited for another to finish would run its units after everyone else's).
     */
    private Dim3 persistentGrid(String kernel, Tile t, int m, int n) {
        return Dim3.of(CLUSTER * Math.min(t.units(m, n), activeClusters(kernel, t)));
    }

    /** Clusters of the persistent kernel `kernel` that run at once on this device (asked once). */
    int activeClusters(String kernel, Tile t) {
        return ACTIVE_CLUSTERS.computeIfAbsent(module.device().index() + ":" + kernel, key -> {
            int c = module.kernel(kernel).maxActiveClusters(CLUSTER, t.threads, t.smemBytes());
            if (c < 1)
                throw new IllegalStateException(kernel + ": no cluster of " + CLUSTER + " CTAs (" + t.threads + " threads, "
                        + t.smemBytes() + " bytes of shared memory each) fits on " + module.device() + "; use another tile");
            return c;
        });
    }

    private final KernelModule module;
    private final CudaStream stream;
    private Tile tile;

    /** Uses the fastest kernel the device runs: see {@link #defaultTile}. */
    public Gemm(KernelModule module, CudaStream stream) {
        this(module, stream, defaultTile(module, stream));
    }

    Gemm(KernelModule module, CudaStream stream, Tile tile) {
        this.module = module;
        this.stream = stream;
        this.tile = tile;
    }

    /**
     * -Dprefill.cuda.gemm=TILE if given (e.g. T128x256 to leave the wgmma kernels out); else, on
     * sm_90 where the driver loaded our sm_90a build, TMA_128x256 when this process can make tensor
     * maps and WGMMA_128x256 when it cannot; else T128x256 where the shared memory allows it; else
     * T128x128.
     */
    static Tile defaultTile(KernelModule module, CudaStream stream) {
        String forced = PrefillSettings.CUDA_GEMM.get();
        if (forced != null) return Tile.valueOf(forced);
        if ("9.0".equals(module.device().computeCapability()) && wgmmaLoaded(module, stream))
            return TensorMap.unavailable() == null ? Tile.TMA_128x256 : Tile.WGMMA_128x256;
        return largestMmaTile(module.device());
    }

    /** The larger mma.sync tile that fits the device's opt-in shared memory per block. */
    static Tile largestMmaTile(CudaDevice device) {
        int optin = device.attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        return optin >= Tile.T128x256.smemBytes() ? Tile.T128x256 : Tile.T128x128;
    }

    private static final Map<KernelModule, Boolean> WGMMA_LOADED = new ConcurrentHashMap<>();

    /**
     * Whether the code the driver loaded for this module is the sm_90a build, i.e. whether the
     * gemm_wgmma_* kernels really use wgmma (asked once per module with gemm_wgmma_probe: the
     * fatbin has sm_90 and sm_90a code for Hopper, and the driver picks).
     */
    public static boolean wgmmaLoaded(KernelModule module, CudaStream stream) {
        return WGMMA_LOADED.computeIfAbsent(module, m -> {
            m.device().makeCurrent();
            CUdeviceptr p = new CUdeviceptr();
            check(JCudaDriver.cuMemAlloc(p, 4), "cuMemAlloc(4) for gemm_wgmma_probe");
            try {
                DeviceBuffer flag = DeviceBuffer.allocation(p, 4, "gemm_wgmma_probe");
                flag.fill32(stream, -1);
                m.kernel("gemm_wgmma_probe").launch(stream, Dim3.of(1), 1, 0, flag);
                int[] v = new int[1];
                flag.download(stream, v);
                if (v[0] != 0 && v[0] != 1) throw new CudaException("gemm_wgmma_probe wrote " + v[0]);
                return v[0] == 1;
            } finally {
                JCudaDriver.cuMemFree(p);
            }
        });
    }

    /** Chooses the tile (tests and benchmarks compare them). */
    public Gemm use(Tile t) {
        this.tile = t;
        return this;
    }

    public Tile tile() { return tile; }

    /** FLOPs of one product (a multiply and an add per term). */
    public static double flops(long m, long n, long k) { return 2.0 * m * n * k; }

    /**
     * c (op)= a · w^T (+ bias). a: bf16 [m, k]; w: bf16 [n, k]; c: [m, n], bf16 for {@link Output#BF16},
     * fp32 for F32 and ADD_F32, bf16 [m, n / 2] for {@link Output#SWIGLU_BF16}; biasOrNull: fp32 [n]
     * or null. Asynchronous on this object's stream.
     */
    public void run(DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k, Output out,
                    DeviceBuffer biasOrNull) {
        checkArgs(a, w, c, m, n, k, out, biasOrNull);
        checkFusedTile(out, "gemm m=" + m + " n=" + n + " k=" + k + " out=" + out);
        if (m == 0) return;
        // A null bias goes to the kernel as a 0 pointer (Kernel.launch passes a Long as 8 bytes).
        Object bias = biasOrNull == null ? (Object) 0L : biasOrNull;
        if (tile.persistent()) {
            checkPersistent(tile.prefix + out.suffix);
            TensorMap ma = TensorMap.rowMajor(a, TensorMap.Element.BF16, m, k, tile.bm);
            TensorMap mw = TensorMap.rowMajor(w, TensorMap.Element.BF16, n, k, tile.bn / CLUSTER);
            module.kernel(tile.prefix + out.suffix).launch(stream, persistentGrid(tile.prefix + out.suffix, tile, m, n),
                    tile.threads, tile.smemBytes(), ma, mw, c, bias, m, n, k);
            return;
        }
        module.kernel(tile.prefix + out.suffix).launch(stream, Dim3.of(tile.ctas(m, n)), tile.threads, tile.smemBytes(),
                a, w, c, bias, m, n, k);
    }

    /**
     * Registers the persistent kernels move between warpgroups with setmaxnreg (gemm_tma.cuh: 128
     * producer threads keep 56, 256 consumer threads take 224). The CTA keeps what it launched
     * with, so a build whose kernel launches with fewer than 168 per thread would wait forever in
     * setmaxnreg.inc: refused here, with the numbers, before any launch. Also refuses a module
     * without the sm_90a build (the kernels trap there).
     */
    static final int TMA_PRODUCER_REGS = 56, TMA_CONSUMER_REGS = 224;
    private static final Map<String, Boolean> PERSISTENT_CHECKED = new ConcurrentHashMap<>();

    private void checkPersistent(String kernel) {
        if (!wgmmaLoaded(module, stream))
            throw new IllegalStateException(kernel + " needs the sm_90a kernels on a Hopper GPU; " + module.device()
                    + " did not load them");
        PERSISTENT_CHECKED.computeIfAbsent(module.device().index() + ":" + kernel, key -> {
            int regs = module.kernel(kernel).registersPerThread();
            int threads = Tile.TMA_128x256.threads;
            int needed = 128 * TMA_PRODUCER_REGS + 256 * TMA_CONSUMER_REGS;
            if ((long) regs * threads < needed)
                throw new IllegalStateException(kernel + " launches with " + regs + " registers per thread (" + regs * threads
                        + " for " + threads + " threads) but its warpgroups redistribute " + needed + " (128 x "
                        + TMA_PRODUCER_REGS + " + 256 x " + TMA_CONSUMER_REGS + "): it would hang; use another tile");
            return true;
        });
    }

    /**
     * Whether this device runs {@link #runFp8}: FP8 tensor cores with wgmma exist on Hopper
     * (compute capability 9.0), in our sm_90a build ({@link #wgmmaLoaded}).
     */
    public static boolean fp8Supported(KernelModule module, CudaStream stream) {
        return "9.0".equals(module.device().computeCapability()) && wgmmaLoaded(module, stream);
    }

    /** Why FP8 projections cannot run on this module's device, or null when they can. */
    public static String fp8Unsupported(KernelModule module, CudaStream stream) {
        if (fp8Supported(module, stream)) return null;
        CudaDevice d = module.device();
        return "FP8 projections run on Hopper's FP8 tensor cores (compute capability 9.0, the sm_90a kernels); "
                + d + " has compute capability " + d.computeCapability()
                + ("9.0".equals(d.computeCapability()) ? " but the driver did not load the sm_90a build" : "");
    }

    /**
     * c (op)= (a8 · w8^T) · aScale[row] · wScale[col] (+ bias): the FP8 projection (gemm.cuh's
     * gemm_fp8_tma_128x256_* under {@link Tile#TMA_128x256}, else gemm_fp8_wgmma_128x256_*), E4M3 tensor-core products accumulated in fp32, the scales and bias
     * applied in the fp32 epilogue. a8: E4M3 codes [m, k] with aScale fp32 [m] (from
     * {@link ModelKernels#quantizeRowsE4m3}); w8: codes [n, k] with wScale fp32 [n] (one per output
     * channel); c as for {@link #run}. k must be a multiple of 16 and n of 8. Hopper only: an
     * IllegalStateException naming the device elsewhere ({@link #fp8Supported}).
     */
    public void runFp8(DeviceBuffer a8, DeviceBuffer aScale, DeviceBuffer w8, DeviceBuffer wScale, DeviceBuffer c,
                       int m, int n, int k, Output out, DeviceBuffer biasOrNull) {
        String shape = "gemm fp8 m=" + m + " n=" + n + " k=" + k + " out=" + out;
        if (a8 == null || aScale == null || w8 == null || wScale == null || c == null || out == null)
            throw new IllegalArgumentException(shape + ": a8, aScale, w8, wScale, c and out must not be null");
        if (m < 0 || n <= 0 || k <= 0) throw new IllegalArgumentException(shape + ": needs m >= 0, n > 0, k > 0");
        if (n % 8 != 0 || k % 16 != 0)
            throw new IllegalArgumentException(shape + ": n must be a multiple of 8 and k of 16 (16-byte E4M3 rows)");
        checkSwiglu(out, n, shape);
        need(a8, (long) m * k, "a8 [m, k] E4M3", shape);
        need(aScale, 4L * m, "aScale [m] fp32", shape);
        need(w8, (long) n * k, "w8 [n, k] E4M3", shape);
        need(wScale, 4L * n, "wScale [n] fp32", shape);
        need(c, out.cBytes(m, n), out.cShape(), shape);
        if (biasOrNull != null) need(biasOrNull, 4L * n, "bias [n] fp32", shape);
        String unsupported = fp8Unsupported(module, stream);
        if (unsupported != null) throw new IllegalStateException(shape + ": " + unsupported);
        checkFusedTile(out, shape);
        if (m == 0) return;
        Object bias = biasOrNull == null ? (Object) 0L : biasOrNull;
        if (tile.persistent()) {
            checkPersistent(tile.fp8Prefix + out.suffix);
            TensorMap ma = TensorMap.rowMajor(a8, TensorMap.Element.E4M3, m, k, tile.bm);
            TensorMap mw = TensorMap.rowMajor(w8, TensorMap.Element.E4M3, n, k, tile.bn / CLUSTER);
            module.kernel(tile.fp8Prefix + out.suffix).launch(stream, persistentGrid(tile.fp8Prefix + out.suffix, tile, m, n),
                    tile.threads, tile.smemBytes(), ma, aScale, mw, wScale, c, bias, m, n, k);
            return;
        }
        Tile t = Tile.WGMMA_128x256;
        module.kernel(t.fp8Prefix + out.suffix).launch(stream, Dim3.of(t.ctas(m, n)), t.threads, t.smemBytes(), a8,
                aScale, w8, wScale, c, bias, m, n, k);
    }

    static void checkArgs(DeviceBuffer a, DeviceBuffer w, DeviceBuffer c, int m, int n, int k, Output out,
                          DeviceBuffer bias) {
        String shape = "gemm m=" + m + " n=" + n + " k=" + k + " out=" + out;
        if (a == null || w == null || c == null || out == null)
            throw new IllegalArgumentException(shape + ": a, w, c and out must not be null");
        if (m < 0 || n <= 0 || k <= 0)
            throw new IllegalArgumentException(shape + ": needs m >= 0, n > 0, k > 0");
        if (n % 8 != 0 || k % 8 != 0)
            throw new IllegalArgumentException(shape + ": n and k must be multiples of 8 (16-byte bf16 rows)");
        checkSwiglu(out, n, shape);
        need(a, 2L * m * k, "a [m, k] bf16", shape);
        need(w, 2L * n * k, "w [n, k] bf16", shape);
        need(c, out.cBytes(m, n), out.cShape(), shape);
        if (bias != null) need(bias, 4L * n, "bias [n] fp32", shape);
    }

    private static void checkSwiglu(Output out, int n, String shape) {
        if (out == Output.SWIGLU_BF16 && n % (2 * SWIGLU_BLOCK) != 0)
            throw new IllegalArgumentException(shape + ": the fused SwiGLU needs n = 2 x intermediate a multiple of "
                    + 2 * SWIGLU_BLOCK);
    }

    private void checkFusedTile(Output out, String shape) {
        if (out == Output.SWIGLU_BF16 && !tile.persistent())
            throw new IllegalStateException(shape + ": the fused SwiGLU runs on " + Tile.TMA_128x256 + " only, this GEMM uses "
                    + tile);
    }

    private static void need(DeviceBuffer b, long bytes, String what, String shape) {
        if (b.bytes() < bytes)
            throw new IllegalArgumentException(shape + ": " + what + " needs " + bytes + " bytes, "
                    + b.label() + " has " + b.bytes());
    }
}
