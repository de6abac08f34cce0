package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;
import io.prefill.sparse.BlockSparseEstimator;
import java.util.ArrayList;
import java.util.List;

/**
 * Block-sparse on the device: mean-pooled Q and K per 64 rows, causal block scores (exact FP64
 * sums, the CPU planner's bits), top-k key blocks per query block (block 0 and the diagonal
 * always), as a CSR plan with one 64-key range per chosen block. The scores go through a scratch
 * of keys in passes over the heads' rows ({@link #SCORE_BYTES_PER_HEAD_TOKEN}); block_sparse.cuh
 * argues the design.
 */
public final class BlockSparseGpu {
    private final KernelModule module;
    private final CudaStream stream;
    private final DeviceArena arena;

    public BlockSparseGpu(KernelModule module, CudaStream stream, DeviceArena arena) {
        this.module = module;
        this.stream = stream;
        this.arena = arena;
    }

    /**
     * Bytes of block-score keys one pass may hold, per head and token of the layer: the keys of
     * the rows a pass covers (4 bytes per causal block pair) stay within this times heads x n
     * (the forward pass's memory plan counts it with the estimate's scratch). For Llama-3-8B's 32
     * heads a pass holds 7 heads at 128K, one head at 512K, and half of one head's rows at 1M.
     */
    public static final long SCORE_BYTES_PER_HEAD_TOKEN = 16;

    /** Threads of bs_block_scores (BS_THREADS of block_sparse.cuh). */
    private static final int SCORE_THREADS = 128;

    /** Rows [row0, rowEnd) of heads [h0, h0 + heads): one launch of each kernel. */
    record Pass(int h0, int heads, int row0, int rowEnd) { }

    /** Keys of rows [0, x) of one head: sum over query blocks b < x of (b + 1). */
    static long keysBefore(long x) { return x * (x + 1) / 2; }

    /**
     * The passes over all heads' rows with at most {@code bound} bytes of keys each: whole heads
     * when one head fits, else runs of 64-row tiles of one head (at least one tile per pass).
     */
    static List<Pass> passes(int heads, int nqb, long bound) {
        List<Pass> out = new ArrayList<>();
        long perHead = 4 * keysBefore(nqb);
        if (perHead <= bound) {
            int hp = (int) Math.min(heads, bound / perHead);
            for (int h = 0; h < heads; h += hp) out.add(new Pass(h, Math.min(hp, heads - h), 0, nqb));
            return out;
        }
        int tile = 64;
        for (int h = 0; h < heads; h++) {
            int row0 = 0;
            while (row0 < nqb) {
                int end = Math.min(row0 + tile, nqb);
                while (end < nqb && 4 * (keysBefore(Math.min(end + tile, nqb)) - keysBefore(row0)) <= bound)
                    end = Math.min(end + tile, nqb);
                out.add(new Pass(h, 1, row0, end));
                row0 = end;
            }
        }
        return out;
    }

    static long rangesBefore(long qb, long k) {
        return qb <= k ? qb * (qb + 1) / 2 : k * (k + 1) / 2 + (qb - k) * k;
    }

    /**
     * Block 0 and the diagonal block count in the budget, which is therefore at least 2: query
     * block b keeps {@link BlockSparseEstimator#keptBlocks} key blocks, as on the CPU.
     */
    public DevicePlan plan(DeviceBuffer q, DeviceBuffer k, AttentionShape s, int topBlocks) {
        return plan(q, k, s, topBlocks, SCORE_BYTES_PER_HEAD_TOKEN * s.heads() * s.seqLen());
    }

    /** The same with the keys of one pass bounded by scoreBytes (at least one 64-row tile of one head). */
    DevicePlan plan(DeviceBuffer q, DeviceBuffer k, AttentionShape s, int topBlocks, long scoreBytes) {
        if (topBlocks < 1) throw new IllegalArgumentException("topBlocks must be >= 1, got " + topBlocks);
        topBlocks = Math.max(topBlocks, BlockSparseEstimator.MIN_BLOCKS);
        int n = s.seqLen(), heads = s.heads(), d = s.headDim(), nqb = s.queryBlocks(), slots = heads * nqb;
        long totalRanges = heads * rangesBefore(nqb, topBlocks);
        if (2 * totalRanges > Integer.MAX_VALUE) throw new IllegalArgumentException("block-sparse plan too large: " + s);
        DeviceBuffer rangePtr = arena.alloc(4L * (slots + 1), "bsplan.rangePtr");
        DeviceBuffer colPtr = arena.alloc(4L * (slots + 1), "bsplan.colPtr");
        DeviceBuffer rangeData = arena.alloc(8L * Math.max(1, totalRanges), "bsplan.rangeData");
        DeviceBuffer colData = arena.alloc(4, "bsplan.colData");
        long mark = arena.mark();
        DeviceBuffer pooledQ = arena.alloc(4L * heads * nqb * d, "bs.pooledQ");
        DeviceBuffer pooledK = arena.alloc(4L * s.kvHeads() * nqb * d, "bs.pooledK");
        module.kernel("bs_plan_pointers_k").launch(stream, Dim3.of((slots + 1 + 255) / 256), 256, 0,
                heads, nqb, topBlocks, rangePtr, colPtr);
        module.kernel("mean_pool_d" + d).launch(stream, Dim3.of(nqb, heads + s.kvHeads()), d, 0,
                q, k, heads, s.kvHeads(), n, pooledQ, pooledK);
        List<Pass> passes = passes(heads, nqb, scoreBytes);
        long keyBytes = passes.stream().mapToLong(x -> 4L * x.heads() * (keysBefore(x.rowEnd()) - keysBefore(x.row0())))
                .max().orElse(4);
        DeviceBuffer keys = arena.alloc(keyBytes, "bs.keys");
        for (Pass x : passes) {
            long headStride = keysBefore(x.rowEnd()) - keysBefore(x.row0());
            // 64 x 64 score tiles of the pass's row tiles: row tile r holds r + 1, as row r holds r + 1 keys
            long tiles = keysBefore((x.rowEnd() + 63) / 64) - keysBefore(x.row0() / 64);
            module.kernel("bs_block_scores_d" + d).launch(stream, Dim3.of((int) tiles, x.heads()), SCORE_THREADS, 0,
                    pooledQ, pooledK, heads, s.kvHeads(), nqb, x.h0(), x.row0(), x.rowEnd(), keys, headStride);
            module.kernel("bs_row_topk_k").launch(stream, Dim3.of(x.rowEnd() - x.row0(), x.heads()), 256, 0,
                    keys, headStride, nqb, n, topBlocks, x.h0(), x.row0(), rangePtr, rangeData);
        }
        stream.synchronize();
        arena.reset(mark);
        return new DevicePlan(heads, n, rangePtr, rangeData, colPtr, colData, (int) totalRanges, 0);
    }
}
