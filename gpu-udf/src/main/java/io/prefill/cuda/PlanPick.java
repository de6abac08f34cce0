package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;
import io.prefill.sparse.BlockPlan;

/**
 * One plan from two plans of the same layer, chosen per head: a layer mixing block-sparse heads
 * with the others builds both plans for all heads and keeps, per head, the one its pattern asks
 * for, so the attention still runs in one launch (see plan_pick.cuh).
 */
public final class PlanPick {
    private final KernelModule module;
    private final CudaStream stream;

    public PlanPick(KernelModule module, CudaStream stream) {
        this.module = module;
        this.stream = stream;
    }

    /** Head h takes its slots from `b` where useB[h], else from `a`; the result lives in `arena`. */
    public DevicePlan pick(DevicePlan a, DevicePlan b, boolean[] useB, DeviceArena arena) {
        int heads = a.heads(), n = a.seqLen();
        if (b.heads() != heads || b.seqLen() != n || useB.length != heads)
            throw new IllegalArgumentException("plans for " + heads + "/" + b.heads() + " heads, n=" + n + "/" + b.seqLen()
                    + ", choices for " + useB.length);
        int slots = heads * BlockPlan.blocks(n);
        int[] choice = new int[heads];
        for (int h = 0; h < heads; h++) choice[h] = useB[h] ? 1 : 0;
        DeviceBuffer rangePtr = arena.alloc(4L * (slots + 1), "pick.rangePtr");
        DeviceBuffer colPtr = arena.alloc(4L * (slots + 1), "pick.colPtr");
        DeviceBuffer useBuf = arena.alloc(4L * heads, "pick.useB");
        useBuf.upload(stream, choice);
        DeviceBuffer rangeCount = arena.alloc(4L * slots, "pick.rangeCount");
        DeviceBuffer colCount = arena.alloc(4L * slots, "pick.colCount");
        Dim3 grid = Dim3.of((slots + 255L) / 256);
        module.kernel("plan_pick_count_k").launch(stream, grid, 256, 0, a, b, useBuf, heads, n, rangeCount, colCount);
        CsrSizes sizes = CsrSizes.scan(module, stream, slots, rangeCount, colCount, rangePtr, colPtr);
        DeviceBuffer rangeData = sizes.allocRanges(arena, "pick.rangeData");
        DeviceBuffer colData = sizes.allocColumns(arena, "pick.colData");
        DevicePlan picked = new DevicePlan(heads, n, rangePtr, rangeData, colPtr, colData, sizes.numRanges(),
                sizes.numColumns());
        module.kernel("plan_pick_fill_k").launch(stream, grid, 256, 0, a, b, useBuf, heads, n, picked);
        return picked;
    }
}
