package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import io.prefill.cuda.Kernel.Dim3;
import io.prefill.model.DType;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeFrequencies;
import io.prefill.model.RotaryPairing;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

/**
 * The element-wise and row-wise kernels of a transformer layer (model_ops.cuh): embedding
 * gather, RMSNorm, bias + RoPE + split into head-major Q/K/V, head-major to token-major, SwiGLU,
 * the last-position lm_head GEMV, log-softmax + top-k, dtype conversion and fill. All launches
 * go on one stream and are asynchronous; every method checks the sizes of its buffers (in bytes,
 * so slices work) and throws IllegalArgumentException naming the buffer and the shape.
 *
 * <p>Layouts: the residual stream x is fp32 [n, hidden] token-major; Q is bf16 [heads, n, d], K
 * and V bf16 [kvHeads, n, d] (n = document length), or rows of a padded width with zeros past d
 * ({@link HeadWidth}); the projections come in chunks of `rows`
 * tokens starting at position `row0`. Widths (hidden, dim, inter, cols, d) must be multiples of
 * 8. Buffers at 16-byte aligned addresses get 16-byte loads and stores; others work, slower.
 */
public final class ModelKernels {
    /** Threads per block of every kernel but the top-k. */
    public static final int THREADS = 256;
    /** Threads of the single top-k block (mo::TOPK_THREADS) and the largest k (mo::TOPK_MAX). */
    public static final int TOPK_THREADS = 1024, TOPK_MAX = 64;
    /** RMSNorm rows up to this width take one warp each, wider ones a block (mo::RMS_WARP_DIM). */
    public static final int RMS_WARP_DIM = 1024;
    /** Head slots (of H + 2 Hkv) per block row of rope_split_k: cos/sin computed once per 8 heads. */
    static final int ROPE_HEADS_PER_BLOCK = 8;

    /** Element type of a tensor given to the convert kernels; `code` is the kernel's srcDtype. */
    public enum SourceType {
        F32(0, 4), F16(1, 2), BF16(2, 2);

        final int code, bytes;

        SourceType(int code, int bytes) {
            this.code = code;
            this.bytes = bytes;
        }

        public int code() { return code; }
        public int bytes() { return bytes; }

        public static SourceType of(DType t) {
            return switch (t) {
                case F32 -> F32;
                case F16 -> F16;
                case BF16 -> BF16;
                case F8_E4M3 -> throw new IllegalArgumentException("no FP8 kernels yet: FP8 weights run on the cpu backend");
            };
        }
    }

    private final KernelModule module;
    private final CudaStream stream;
    private final int maxBlocks;  // grid-stride kernels: a few waves of full occupancy are enough

    public ModelKernels(KernelModule module, CudaStream stream) {
        this.module = module;
        this.stream = stream;
        this.maxBlocks = Math.max(1, module.device().multiprocessors()) * (2048 / THREADS) * 4;
    }

    public CudaStream stream() { return stream; }

    /**
     * x[t, :] = float(table[ids[t], :]) for t in [0, count).
     *
     * @param table bf16 [vocab, hidden] embedding matrix
     * @param vocab rows of the table (for the size check; the kernel does not check ids: they must
     *              lie in [0, vocab), validated on the host as CpuForwardPass does)
     * @param ids   int [count] token ids
     * @param x     fp32 [count, hidden] output
     */
    public void embedRows(DeviceBuffer table, int vocab, DeviceBuffer ids, int count, int hidden, DeviceBuffer x) {
        String shape = "embedRows(vocab=" + vocab + ", count=" + count + ", hidden=" + hidden + ")";
        positive(vocab, "vocab", shape);
        nonNegative(count, "count", shape);
        width8(hidden, "hidden", shape);
        need(table, 2L * vocab * hidden, "table", shape);
        need(ids, 4L * count, "ids", shape);
        need(x, 4L * count * hidden, "x", shape);
        launch("embed_rows_k", gridFor((long) count * (hidden / 8)), table, ids, count, hidden, x);
    }

    /** y = bf16(x * rsqrt(mean(x^2) + eps) * weight) per row; x fp32 [rows, dim], weight fp32 [dim], y bf16. */
    public void rmsNormBf16(DeviceBuffer x, DeviceBuffer weight, int rows, int dim, float eps, DeviceBuffer y) {
        rmsNorm("rmsnorm_bf16_k", 2, x, weight, rows, dim, eps, y);
    }

    /** As {@link #rmsNormBf16} with an fp32 output y [rows, dim]. */
    public void rmsNormF32(DeviceBuffer x, DeviceBuffer weight, int rows, int dim, float eps, DeviceBuffer y) {
        rmsNorm("rmsnorm_f32_k", 4, x, weight, rows, dim, eps, y);
    }

    private void rmsNorm(String kernel, int outBytes, DeviceBuffer x, DeviceBuffer weight, int rows, int dim,
                         float eps, DeviceBuffer y) {
        String shape = kernel + "(rows=" + rows + ", dim=" + dim + ")";
        nonNegative(rows, "rows", shape);
        width8(dim, "dim", shape);
        need(x, 4L * rows * dim, "x", shape);
        need(weight, 4L * dim, "weight", shape);
        need(y, (long) outBytes * rows * dim, "y", shape);
        long blocks = dim <= RMS_WARP_DIM ? (rows + (THREADS / 32) - 1) / (THREADS / 32) : rows;
        launch(kernel, Dim3.of(Math.min(blocks, maxBlocks)), x, weight, rows, dim, eps, y);
    }

    /**
     * How rope_split_k rotates a Q or K head: its first {@code pairs} rotation pairs, laid out
     * rotate_half (element i with i + headDim/2; then the whole head rotates) or interleaved (2i
     * with 2i + 1; pairs beyond {@code pairs} pass through), cos and sin multiplied by scale.
     */
    public record Rotary(int pairs, boolean interleaved, float scale) {
        /** The whole head in the rotate_half layout, unscaled (Llama, Mistral, Qwen2). */
        public static Rotary rotateHalf(int headDim) { return new Rotary(headDim / 2, false, 1f); }

        /** The config's rotary part, pairing and longrope attention scaling. */
        public static Rotary of(ModelConfig c) {
            return new Rotary(c.rotaryDim() / 2, c.rotaryPairing() == RotaryPairing.INTERLEAVED,
                    (float) RopeFrequencies.attentionScaling(c));
        }

        /** Why the kernel cannot rotate heads of headDim this way, or null when it can. */
        public String unsupported(int headDim) {
            if (pairs < 1 || pairs > headDim / 2) return pairs + " rotation pairs in a head of " + headDim;
            if (!interleaved && pairs != headDim / 2) {
                return "a partial rotary part (" + 2 * pairs + " of " + headDim + " dimensions) in the rotate_half layout";
            }
            if (!(scale > 0) || !Float.isFinite(scale)) return "rotary scale " + scale;
            return null;
        }
    }

    /** {@link #ropeSplit(DeviceBuffer, DeviceBuffer, DeviceBuffer, Rotary, int, int, int, int, int, int,
     *  DeviceBuffer, DeviceBuffer, DeviceBuffer)} of whole heads in the rotate_half layout. */
    public void ropeSplit(DeviceBuffer qkv, DeviceBuffer biasOrNull, DeviceBuffer invFreq, int rows, int row0, int n,
                          int heads, int kvHeads, int headDim, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v) {
        ropeSplit(qkv, biasOrNull, invFreq, Rotary.rotateHalf(headDim), rows, row0, n, heads, kvHeads, headDim, q, k, v);
    }

    /** {@link #ropeSplit(DeviceBuffer, DeviceBuffer, DeviceBuffer, Rotary, int, int, int, int, int, int, int, float,
     *  DeviceBuffer, DeviceBuffer, DeviceBuffer)} unpadded: head stride headDim, Q unscaled. */
    public void ropeSplit(DeviceBuffer qkv, DeviceBuffer biasOrNull, DeviceBuffer invFreq, Rotary rotary, int rows,
                          int row0, int n, int heads, int kvHeads, int headDim, DeviceBuffer q, DeviceBuffer k,
                          DeviceBuffer v) {
        ropeSplit(qkv, biasOrNull, invFreq, rotary, rows, row0, n, heads, kvHeads, headDim, headDim, 1f, q, k, v);
    }

    /**
     * Adds the bias, applies RoPE to the Q and K heads at absolute positions p = row0 + r
     * (pairs as {@code rotary} says; angle p * invFreq[i] in double), multiplies Q by qScale and
     * writes Q[h, p, :], K[g, p, :], V[g, p, :] as bf16 into rows of headStride elements: the first
     * headDim from the chunk, [headDim, headStride) zero (heads padded for the attention kernels,
     * see {@link HeadWidth}).
     *
     * @param qkv        fp32 [rows, (heads + 2 kvHeads) * headDim]: Q columns, then K, then V
     * @param biasOrNull fp32 [(heads + 2 kvHeads) * headDim] or null
     * @param invFreq    double [rotary.pairs()] inverse frequencies ({@link #uploadDoubles})
     * @param n          document length: rows of the head-major buffers; row0 + rows <= n
     * @param headDim    the model's head width, a positive multiple of 16
     * @param headStride the output rows' width, a multiple of 8 and >= headDim
     * @param qScale     factor on Q after RoPE (finite, > 0; exactly 1 leaves Q as it is)
     * @param q          bf16 [heads, n, headStride]; k, v bf16 [kvHeads, n, headStride]
     */
    public void ropeSplit(DeviceBuffer qkv, DeviceBuffer biasOrNull, DeviceBuffer invFreq, Rotary rotary, int rows,
                          int row0, int n, int heads, int kvHeads, int headDim, int headStride, float qScale,
                          DeviceBuffer q, DeviceBuffer k, DeviceBuffer v) {
        launch(ropeSplitLaunch(maxBlocks, qkv, biasOrNull, invFreq, rotary, rows, row0, n, heads, kvHeads, headDim,
                headStride, qScale, q, k, v));
    }

    /** The checked launch of rope_split_k (its grid and its argument list, in the kernel's parameter order). */
    static Launch ropeSplitLaunch(int maxBlocks, DeviceBuffer qkv, DeviceBuffer biasOrNull, DeviceBuffer invFreq,
                                  Rotary rotary, int rows, int row0, int n, int heads, int kvHeads, int headDim,
                                  int headStride, float qScale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v) {
        String shape = "ropeSplit(rows=" + rows + ", row0=" + row0 + ", n=" + n + ", heads=" + heads + ", kvHeads="
                + kvHeads + ", headDim=" + headDim + ", headStride=" + headStride + ", qScale=" + qScale + ", "
                + rotary + ")";
        nonNegative(rows, "rows", shape);
        nonNegative(row0, "row0", shape);
        positive(heads, "heads", shape);
        positive(kvHeads, "kvHeads", shape);
        if (headDim <= 0 || headDim % 16 != 0)
            throw new IllegalArgumentException(shape + ": headDim must be a positive multiple of 16");
        if (headStride < headDim || headStride % 8 != 0)
            throw new IllegalArgumentException(shape + ": headStride must be a multiple of 8 and at least headDim");
        if (!(qScale > 0) || !Float.isFinite(qScale))
            throw new IllegalArgumentException(shape + ": qScale must be finite and positive");
        String unsupported = rotary.unsupported(headDim);
        if (unsupported != null) throw new IllegalArgumentException(shape + ": " + unsupported);
        if ((long) row0 + rows > n)
            throw new IllegalArgumentException(shape + ": rows [row0, row0 + rows) must lie inside [0, n)");
        long slots = (long) heads + 2L * kvHeads;
        long groups = (slots + ROPE_HEADS_PER_BLOCK - 1) / ROPE_HEADS_PER_BLOCK;
        if (groups > 65535) throw new IllegalArgumentException(shape + ": too many heads");
        need(qkv, 4L * rows * slots * headDim, "qkv", shape);
        if (biasOrNull != null) need(biasOrNull, 4L * slots * headDim, "bias", shape);
        need(invFreq, 8L * rotary.pairs(), "invFreq", shape);
        need(q, 2L * heads * n * headStride, "q", shape);
        need(k, 2L * kvHeads * n * headStride, "k", shape);
        need(v, 2L * kvHeads * n * headStride, "v", shape);
        Dim3 grid = Dim3.of(gridFor((long) rows * (headDim / 16), maxBlocks).x(), groups);
        Object bias = biasOrNull != null ? biasOrNull : (Object) 0L;  // a null pointer (8 bytes of zero)
        return new Launch("rope_split_k", grid, qkv, bias, invFreq, rows, row0, n, heads, kvHeads, headDim, headStride,
                rotary.pairs(), rotary.interleaved() ? 1 : 0, rotary.scale(), qScale, q, k, v);
    }

    /** {@link #headsToRows(DeviceBuffer, int, int, int, int, int, int, DeviceBuffer)} of unpadded heads. */
    public void headsToRows(DeviceBuffer o, int heads, int n, int headDim, int row0, int rows, DeviceBuffer out) {
        headsToRows(o, heads, n, headDim, headDim, row0, rows, out);
    }

    /**
     * out[r, h * headDim + e] = o[h, row0 + r, e] for e < headDim: a token-major chunk of the
     * head-major attention output for the O-projection GEMM, without the padding of its heads.
     *
     * @param o          bf16 [heads, n, headStride], headStride >= headDim a multiple of 8
     * @param out        bf16 [rows, heads * headDim]
     */
    public void headsToRows(DeviceBuffer o, int heads, int n, int headDim, int headStride, int row0, int rows,
                            DeviceBuffer out) {
        launch(headsToRowsLaunch(maxBlocks, o, heads, n, headDim, headStride, row0, rows, out));
    }

    /** The checked launch of heads_to_rows_k. */
    static Launch headsToRowsLaunch(int maxBlocks, DeviceBuffer o, int heads, int n, int headDim, int headStride,
                                    int row0, int rows, DeviceBuffer out) {
        String shape = "headsToRows(heads=" + heads + ", n=" + n + ", headDim=" + headDim + ", headStride=" + headStride
                + ", row0=" + row0 + ", rows=" + rows + ")";
        checkHeadsToRows(shape, o, heads, n, headDim, headStride, row0, rows);
        need(out, 2L * rows * heads * headDim, "out", shape);
        return new Launch("heads_to_rows_k", gridFor((long) rows * heads * (headDim / 8), maxBlocks), o, heads, n,
                headDim, headStride, row0, rows, out);
    }

    /** What heads_to_rows_k and heads_to_rows_e4m3_k read: rows [row0, row0 + rows) of every head of o. */
    private static void checkHeadsToRows(String shape, DeviceBuffer o, int heads, int n, int headDim, int headStride,
                                         int row0, int rows) {
        positive(heads, "heads", shape);
        nonNegative(rows, "rows", shape);
        nonNegative(row0, "row0", shape);
        width8(headDim, "headDim", shape);
        width8(headStride, "headStride", shape);
        if (headStride < headDim) throw new IllegalArgumentException(shape + ": headStride must be at least headDim");
        if ((long) row0 + rows > n)
            throw new IllegalArgumentException(shape + ": rows [row0, row0 + rows) must lie inside [0, n)");
        need(o, 2L * heads * n * headStride, "o", shape);
    }

    /**
     * out[r, j] = bf16(silu(g) * u) in fp32, g = gateUp[r, j], u = gateUp[r, inter + j].
     *
     * @param gateUp bf16 [rows, 2 * inter]: gate columns first, then up
     * @param out    bf16 [rows, inter]
     */
    public void swiglu(DeviceBuffer gateUp, int rows, int inter, DeviceBuffer out) {
        String shape = "swiglu(rows=" + rows + ", inter=" + inter + ")";
        nonNegative(rows, "rows", shape);
        width8(inter, "inter", shape);
        need(gateUp, 2L * rows * 2 * inter, "gateUp", shape);
        need(out, 2L * rows * inter, "out", shape);
        launch("swiglu_k", gridFor((long) rows * (inter / 8)), gateUp, rows, inter, out);
    }

    /**
     * E4M3 codes of each row of x for the FP8 projections (fp8.cuh): scale[r] = max|x[r, :]| / 448
     * (1 for a zero row) and q[r, c] = E4M3(x[r, c] / scale[r]), nearest code, saturating.
     *
     * @param x     bf16 [rows, cols], cols a multiple of 16
     * @param q     E4M3 codes [rows, cols], one byte each
     * @param scale fp32 [rows]
     */
    public void quantizeRowsE4m3(DeviceBuffer x, int rows, int cols, DeviceBuffer q, DeviceBuffer scale) {
        String shape = "quantizeRowsE4m3(rows=" + rows + ", cols=" + cols + ")";
        nonNegative(rows, "rows", shape);
        width16(cols, "cols", shape);
        need(x, 2L * rows * cols, "x", shape);
        need(q, (long) rows * cols, "q", shape);
        need(scale, 4L * rows, "scale", shape);
        launch("quantize_rows_e4m3_k", Dim3.of(Math.min(rows, maxBlocks)), x, rows, cols, q, scale);
    }

    /**
     * The E4M3 codes and scales {@link #quantizeRowsE4m3} makes of {@link #rmsNormBf16}'s rows, bit
     * for bit, without writing the bf16 rows (fp8.cuh, rmsnorm_e4m3_k).
     *
     * @param x     fp32 [rows, dim], dim a multiple of 16; weight fp32 [dim]
     * @param q     E4M3 codes [rows, dim]; scale fp32 [rows]
     */
    public void rmsNormE4m3(DeviceBuffer x, DeviceBuffer weight, int rows, int dim, float eps, DeviceBuffer q,
                            DeviceBuffer scale) {
        launch(rmsNormE4m3Launch(maxBlocks, x, weight, rows, dim, eps, q, scale));
    }

    /** The checked launch of rmsnorm_e4m3_k: a block of THREADS per row, as rmsnorm_bf16_k's block rows (same sums). */
    static Launch rmsNormE4m3Launch(int maxBlocks, DeviceBuffer x, DeviceBuffer weight, int rows, int dim, float eps,
                                    DeviceBuffer q, DeviceBuffer scale) {
        String shape = "rmsNormE4m3(rows=" + rows + ", dim=" + dim + ")";
        nonNegative(rows, "rows", shape);
        width16(dim, "dim", shape);
        need(x, 4L * rows * dim, "x", shape);
        need(weight, 4L * dim, "weight", shape);
        need(q, (long) rows * dim, "q", shape);
        need(scale, 4L * rows, "scale", shape);
        return new Launch("rmsnorm_e4m3_k", Dim3.of(Math.min(rows, maxBlocks)), x, weight, rows, dim, eps, q, scale);
    }

    /**
     * The E4M3 codes and scales {@link #quantizeRowsE4m3} makes of {@link #headsToRows}'s rows, bit
     * for bit, without writing the bf16 rows (fp8.cuh, heads_to_rows_e4m3_k).
     *
     * @param o     bf16 [heads, n, headStride]
     * @param q     E4M3 codes [rows, heads * headDim], heads * headDim a multiple of 16; scale fp32 [rows]
     */
    public void headsToRowsE4m3(DeviceBuffer o, int heads, int n, int headDim, int headStride, int row0, int rows,
                                DeviceBuffer q, DeviceBuffer scale) {
        launch(headsToRowsE4m3Launch(maxBlocks, o, heads, n, headDim, headStride, row0, rows, q, scale));
    }

    /** The checked launch of heads_to_rows_e4m3_k (headsToRows' checks, the codes' row width). */
    static Launch headsToRowsE4m3Launch(int maxBlocks, DeviceBuffer o, int heads, int n, int headDim, int headStride,
                                        int row0, int rows, DeviceBuffer q, DeviceBuffer scale) {
        String shape = "headsToRowsE4m3(heads=" + heads + ", n=" + n + ", headDim=" + headDim + ", headStride="
                + headStride + ", row0=" + row0 + ", rows=" + rows + ")";
        checkHeadsToRows(shape, o, heads, n, headDim, headStride, row0, rows);
        width16(heads * headDim, "heads * headDim", shape);
        need(q, (long) rows * heads * headDim, "q", shape);
        need(scale, 4L * rows, "scale", shape);
        return new Launch("heads_to_rows_e4m3_k", Dim3.of(Math.min(rows, maxBlocks)), o, heads, n, headDim, headStride,
                row0, rows, q, scale);
    }

    /**
     * y[r] = sum_c w[r, c] * x[c] in fp32 (the last position's logits through the lm_head).
     *
     * @param w bf16 [rows, cols]; x fp32 [cols]; y fp32 [rows]
     */
    public void gemvRows(DeviceBuffer w, DeviceBuffer x, int rows, int cols, DeviceBuffer y) {
        String shape = "gemvRows(rows=" + rows + ", cols=" + cols + ")";
        nonNegative(rows, "rows", shape);
        width8(cols, "cols", shape);
        need(w, 2L * rows * cols, "w", shape);
        need(x, 4L * cols, "x", shape);
        need(y, 4L * rows, "y", shape);
        long blocks = (rows + (THREADS / 32) - 1) / (THREADS / 32);  // one warp per row
        launch("gemv_rows_k", Dim3.of(Math.min(blocks, maxBlocks)), w, x, rows, cols, y);
    }

    /**
     * The min(k, vocab) largest logits, best first (ties: smaller id), and their log-probabilities
     * (z - max) - log(sum exp(z - max)): the answer of io.prefill.engine.TokenLogprobs. One block.
     *
     * @param logits   fp32 [vocab], no NaN
     * @param k        1..64
     * @param ids      int [min(k, vocab)] out
     * @param logProbs fp32 [min(k, vocab)] out
     * @return how many entries were written, min(k, vocab)
     */
    public int logSoftmaxTopK(DeviceBuffer logits, int vocab, int k, DeviceBuffer ids, DeviceBuffer logProbs) {
        String shape = "logSoftmaxTopK(vocab=" + vocab + ", k=" + k + ")";
        positive(vocab, "vocab", shape);
        if (k < 1 || k > TOPK_MAX) throw new IllegalArgumentException(shape + ": k must be in [1, " + TOPK_MAX + "]");
        int m = Math.min(k, vocab);
        need(logits, 4L * vocab, "logits", shape);
        need(ids, 4L * m, "ids", shape);
        need(logProbs, 4L * m, "logProbs", shape);
        module.kernel("log_softmax_topk_k").launch(stream, Dim3.of(1), TOPK_THREADS, 0, logits, vocab, k, ids, logProbs);
        return m;
    }

    /** dst[i] = bf16(src[i]) (round to nearest even) for i in [0, count); BF16 sources are copied bit for bit. */
    public void convertToBf16(DeviceBuffer src, SourceType type, long count, DeviceBuffer dst) {
        convert("convert_to_bf16_k", 2, src, type, count, dst);
    }

    /** dst[i] = float(src[i]) for i in [0, count) (exact; F32 sources are copied). */
    public void convertToF32(DeviceBuffer src, SourceType type, long count, DeviceBuffer dst) {
        convert("convert_to_f32_k", 4, src, type, count, dst);
    }

    private void convert(String kernel, int dstBytes, DeviceBuffer src, SourceType type, long count, DeviceBuffer dst) {
        String shape = kernel + "(" + type + ", count=" + count + ")";
        if (count < 0) throw new IllegalArgumentException(shape + ": count must be >= 0");
        need(src, count * type.bytes, "src", shape);
        need(dst, count * dstBytes, "dst", shape);
        launch(kernel, gridFor((count + 7) / 8), src, type.code, count, dst);
    }

    /** x[i] = value for i in [0, count); x fp32. */
    public void fillF32(DeviceBuffer x, long count, float value) {
        String shape = "fillF32(count=" + count + ")";
        if (count < 0) throw new IllegalArgumentException(shape + ": count must be >= 0");
        need(x, 4L * count, "x", shape);
        launch("fill_f32_k", gridFor((count + 7) / 8), x, count, value);
    }

    /** Copies doubles (e.g. RoPE inverse frequencies) to the start of dst; returns when done. */
    public void uploadDoubles(DeviceBuffer dst, double[] host) {
        need(dst, 8L * host.length, "dst", "uploadDoubles(" + host.length + ")");
        check(JCudaDriver.cuMemcpyHtoDAsync(dst.pointer(), Pointer.to(host), 8L * host.length, stream.handle()),
                "upload " + host.length + " doubles to " + dst.label());
        stream.synchronize();  // the host array may be reused right after
    }

    // ---- launch helpers ----

    /** Blocks of THREADS for `units` work items (one per thread), capped: the kernels grid-stride. */
    private Dim3 gridFor(long units) { return gridFor(units, maxBlocks); }

    private static Dim3 gridFor(long units, int maxBlocks) {
        return Dim3.of(Math.min((units + THREADS - 1) / THREADS, maxBlocks));
    }

    private void launch(String kernel, Dim3 grid, Object... args) {
        module.kernel(kernel).launch(stream, grid, THREADS, 0, args);  // a zero grid launches nothing
    }

    private void launch(Launch l) { launch(l.kernel(), l.grid(), l.args()); }

    /** A kernel launch of THREADS-thread blocks, checked and not yet issued: its arguments in parameter order. */
    record Launch(String kernel, Dim3 grid, Object... args) { }

    private static void need(DeviceBuffer b, long bytes, String what, String shape) {
        if (b == null) throw new IllegalArgumentException(shape + ": " + what + " is null");
        if (b.bytes() < bytes)
            throw new IllegalArgumentException(shape + ": " + what + " (" + b.label() + ") has " + b.bytes()
                    + " bytes, needs " + bytes);
    }

    private static void width8(int v, String what, String shape) {
        if (v <= 0 || v % 8 != 0)
            throw new IllegalArgumentException(shape + ": " + what + " must be a positive multiple of 8, got " + v);
    }

    /** The FP8 GEMM's rows are whole 16-byte units of codes. */
    private static void width16(int v, String what, String shape) {
        if (v <= 0 || v % 16 != 0)
            throw new IllegalArgumentException(shape + ": " + what + " must be a positive multiple of 16 (16-byte FP8 rows), got "
                    + v);
    }

    private static void positive(int v, String what, String shape) {
        if (v <= 0) throw new IllegalArgumentException(shape + ": " + what + " must be positive, got " + v);
    }

    private static void nonNegative(int v, String what, String shape) {
        if (v < 0) throw new IllegalArgumentException(shape + ": " + what + " must be >= 0, got " + v);
    }
}
