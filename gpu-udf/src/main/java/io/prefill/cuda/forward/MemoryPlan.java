package io.prefill.cuda.forward;

import io.prefill.cuda.HeadWidth;
import io.prefill.engine.DocumentException;
import io.prefill.model.ModelConfig;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.sparse.VerticalSlashEstimator;

import java.util.List;
import java.util.function.ToIntFunction;

/**
 * The device memory of one document's layer-streaming pre-fill. Only the current layer's K and V
 * are kept (no KV cache), the residual stream is fp32, Q is reused in place for the attention
 * output, and projections and the MLP run over chunks of tokens whose size is the largest that
 * fits the budget (halving down to 64 rows).
 *
 * @param persistentBytes residual, Q/K/V of the current layer (at the device head width: a head_dim
 *                        padded to 64 or 128 takes that much, see {@link HeadWidth}), token ids, logits
 * @param chunkBytes      scratch of one chunk of {@code chunkTokens} rows
 * @param attentionBytes  reserve for the sparse estimate and plans of one layer
 */
public record MemoryPlan(int tokens, int chunkTokens, long persistentBytes, long chunkBytes, long attentionBytes) {
    private static final long MIB = 1L << 20;
    /** Alignment slack per allocation (the arena aligns to 256 bytes) and small buffers. */
    private static final long SLACK = 16 * MIB;

    public long totalBytes() { return persistentBytes + chunkBytes + attentionBytes + SLACK; }

    public static long persistentBytes(ModelConfig c, long n) {
        long x = 4L * n * c.hiddenSize();
        long d = deviceHeadDim(c);
        long q = 2L * n * c.numHeads() * d, kv = 2L * 2L * n * c.numKvHeads() * d;
        return x + q + kv + 4L * n + 4L * c.vocabSize() + 4L * c.hiddenSize() + 8L * c.headDim();
    }

    /**
     * The width of Q, K and V rows on the device: head_dim, or the kernel width it is padded to
     * ({@link HeadWidth}); head_dim itself for a model the cuda backend refuses (sizes only).
     */
    public static int deviceHeadDim(ModelConfig c) {
        return HeadWidth.unsupported(c.headDim()) == null ? HeadWidth.of(c.headDim()).device() : c.headDim();
    }

    /** Bytes per chunk row: the normed rows, then either the fp32 QKV rows or the attention rows + MLP. */
    public static long bytesPerChunkRow(ModelConfig c) {
        long normed = 2L * c.hiddenSize();
        long qkv = 4L * (c.qDim() + 2L * c.kvDim());
        long mlp = 2L * c.qDim() + 2L * 2L * c.intermediateSize() + 2L * c.intermediateSize();
        return normed + Math.max(qkv, mlp);
    }

    /**
     * Bytes per chunk row of the FP8 projections' input codes: the widest projection input
     * (hidden, the attention rows or the MLP's intermediate), one byte each, plus its fp32 scale.
     */
    public static long fp8CodeBytesPerRow(ModelConfig c) {
        return Math.max(c.hiddenSize(), Math.max(c.qDim(), c.intermediateSize()));
    }

    /**
     * Plan storage per head and query block when no pattern config is given (the size-only plans of
     * {@link #of(ModelConfig, int, long, int)}): MInference's Llama-3 config averages ~800 leftover
     * columns per head.
     */
    public static final int DEFAULT_PLAN_COLUMNS = 1024, DEFAULT_PLAN_RANGES = 64;

    /**
     * Estimate scratch (row statistics, column and diagonal scores: ~24 bytes per head and token;
     * block-sparse: pooled rows, at most 128 wide, ~10 bytes per head and token, and block-score
     * keys, {@link io.prefill.cuda.BlockSparseGpu#SCORE_BYTES_PER_HEAD_TOKEN} per head and token)
     * plus plan storage: the block plan and its two-block pair plan, each with up to `columns`
     * leftover columns and `ranges` ranges per query block over all heads of the layer.
     */
    public static long attentionBytes(ModelConfig c, long n, long columns, long ranges) {
        long heads = c.numHeads(), blocks = BlockPlan.blocks(n);
        return 28L * heads * n + 2 * blocks * (4L * columns + 8L * ranges) + 64 * MIB;
    }

    public static long attentionBytes(ModelConfig c, long n) {
        return attentionBytes(c, n, (long) c.numHeads() * DEFAULT_PLAN_COLUMNS, (long) c.numHeads() * DEFAULT_PLAN_RANGES);
    }

    /**
     * Leftover columns one layer's plan may hold per query block, summed over the layer's heads,
     * for the layer that needs the most. A head's leftover columns are some of its chosen columns,
     * so its vertical budget bounds them (an adaptive head's maximum, an A-shape's sink columns;
     * at least the forced {@value VerticalSlashEstimator#MIN_VERTICAL}); block-sparse and dense
     * heads have none. Summing per layer, not taking every head at the config's widest budget:
     * MInference's Llama-3-70B config has a few 3500-column heads among mostly 30-1000, so its
     * widest layer needs 101,630 columns, not 64 x 3500 = 224,000 (at 1M tokens, 13.3 GB of plan
     * storage instead of 29.4).
     */
    public static long planColumns(PatternConfig p) {
        return widestLayer(p, MemoryPlan::columnsOf);
    }

    /**
     * Ranges one layer's plan may hold per query block, summed over its heads, for the layer that
     * needs the most: a block-sparse head's top blocks, {@link #DEFAULT_PLAN_RANGES} for the others
     * (merged diagonal bands: MInference's configs stay well under it).
     */
    public static long planRanges(PatternConfig p) {
        return widestLayer(p, x -> x instanceof HeadPattern.BlockSparse b ? Math.max(b.topBlocks(), DEFAULT_PLAN_RANGES)
                : DEFAULT_PLAN_RANGES);
    }

    private static int columnsOf(HeadPattern x) {
        if (x instanceof HeadPattern.VerticalSlash vs) return Math.max(vs.verticalSize(), VerticalSlashEstimator.MIN_VERTICAL);
        if (x instanceof HeadPattern.Adaptive a) return Math.max(a.maxBudget(), VerticalSlashEstimator.MIN_VERTICAL);
        if (x instanceof HeadPattern.AShape a) return a.nInit();
        return 0;
    }

    private static long widestLayer(PatternConfig p, ToIntFunction<HeadPattern> perHead) {
        long most = 0;
        for (List<HeadPattern> layer : p.heads()) most = Math.max(most, layer.stream().mapToLong(perHead::applyAsInt).sum());
        return most;
    }

    /**
     * The plan for n tokens within `budget` bytes, or a DEVICE_MEMORY document error naming the
     * numbers when even 64-row chunks do not fit.
     */
    public static MemoryPlan of(ModelConfig c, int n, long budget, int maxChunkTokens) {
        return of(c, n, budget, maxChunkTokens, attentionBytes(c, n));
    }

    /** The same with plan storage sized for these patterns ({@link #planColumns}, {@link #planRanges}). */
    public static MemoryPlan of(ModelConfig c, PatternConfig patterns, int n, long budget, int maxChunkTokens) {
        return of(c, patterns, n, budget, maxChunkTokens, false);
    }

    /** The same, for FP8 projections when fp8: each chunk row also holds its E4M3 codes ({@link #fp8CodeBytesPerRow}). */
    public static MemoryPlan of(ModelConfig c, PatternConfig patterns, int n, long budget, int maxChunkTokens,
                                boolean fp8) {
        return of(c, n, budget, maxChunkTokens, attentionBytes(c, n, planColumns(patterns), planRanges(patterns)), fp8);
    }

    private static MemoryPlan of(ModelConfig c, int n, long budget, int maxChunkTokens, long attention) {
        return of(c, n, budget, maxChunkTokens, attention, false);
    }

    private static MemoryPlan of(ModelConfig c, int n, long budget, int maxChunkTokens, long attention, boolean fp8) {
        long persistent = persistentBytes(c, n);
        long perRow = bytesPerChunkRow(c) + (fp8 ? fp8CodeBytesPerRow(c) + 4 : 0);
        int chunk = (int) Math.min(maxChunkTokens, (n + 63L) / 64 * 64);
        while (true) {
            MemoryPlan p = new MemoryPlan(n, chunk, persistent, perRow * chunk, attention);
            if (p.totalBytes() <= budget) return p;
            if (chunk <= 64) {
                throw new DocumentException(DocumentException.Kind.DEVICE_MEMORY, String.format(
                        "a %d-token document needs %.2f GiB of GPU memory even in 64-token chunks "
                                + "(residual, Q/K/V %.2f GiB + attention plans %.2f GiB + chunk %.3f GiB) but the "
                                + "budget is %.2f GiB; cut it with --max-tokens or raise the budget",
                        n, gib(p.totalBytes()), gib(persistent), gib(attention), gib(p.chunkBytes()), gib(budget)));
            }
            chunk = Math.max(64, chunk / 2 / 64 * 64);
        }
    }

    static double gib(long bytes) { return bytes / (double) (1L << 30); }

    @Override public String toString() {
        return String.format("n=%d chunk=%d: %.2f GiB (persistent %.2f, chunk %.2f, attention %.2f)", tokens,
                chunkTokens, gib(totalBytes()), gib(persistentBytes), gib(chunkBytes), gib(attentionBytes));
    }
}
