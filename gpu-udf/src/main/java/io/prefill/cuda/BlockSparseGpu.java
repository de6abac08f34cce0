package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;
import io.prefill.sparse.BlockSparseEstimator;

/**
 * Block-sparse on the device, all heads per launch: mean-pooled Q and K per 64 rows, causal block
 * scores, top-k key blocks per query block (block 0 and the diagonal always), as a CSR plan with
 * one 64-key range per chosen block.
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
     * Query heads scored per CTA: as many heads of one KV group as fit (at most 8, see
     * BS_MAX_HEADS_PER_CTA) with their block scores in shared memory; each pooled key row read
     * from L2 then serves all of them.
     */
    int headsPerCta(AttentionShape s) {
        int limit = module.device().attribute(
                jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN) - 4096;
        int group = s.heads() / s.kvHeads();
        for (int hg = Math.min(8, group); hg > 1; hg--)
            if (group % hg == 0 && (long) hg * (s.headDim() + s.queryBlocks()) * 4 <= limit) return hg;
        return 1;
    }

    static long rangesBefore(long qb, long k) {
        return qb <= k ? qb * (qb + 1) / 2 : k * (k + 1) / 2 + (qb - k) * k;
    }

    /**
     * Block 0 and the diagonal block count in the budget, which is therefore at least 2: query
     * block b keeps {@link BlockSparseEstimator#keptBlocks} key blocks, as on the CPU.
     */
    public DevicePlan plan(DeviceBuffer q, DeviceBuffer k, AttentionShape s, int topBlocks) {
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
        int hg = headsPerCta(s);
        module.kernel("bs_select_d" + d).launch(stream, Dim3.of(nqb, heads / hg), 256, hg * (d + nqb) * 4,
                pooledQ, pooledK, heads, s.kvHeads(), n, topBlocks, hg, rangePtr, rangeData);
        stream.synchronize();
        arena.reset(mark);
        return new DevicePlan(heads, n, rangePtr, rangeData, colPtr, colData, (int) totalRanges, 0);
    }
}
