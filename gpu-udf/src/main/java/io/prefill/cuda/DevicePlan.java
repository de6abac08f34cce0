package io.prefill.cuda;

import io.prefill.sparse.BlockPlan;

/**
 * A CSR plan on the device (layout in {@link HostPlan}); what the sparse attention kernel reads.
 * A launch passes the plan itself: the kernel takes it as one CsrPlan (plan_tiles.cuh; a fill
 * kernel the plan it writes as a CsrPlanOut, same layout), see {@link #kernelParam}.
 */
public record DevicePlan(int heads, int seqLen, DeviceBuffer rangePtr, DeviceBuffer rangeData,
                         DeviceBuffer colPtr, DeviceBuffer colData, int numRanges, int numColumns) {

    /**
     * The bytes of this plan as a kernel parameter: CsrPlan's four pointers in its field order,
     * rangePtr, rangeData, colPtr, colData (the order plan_tiles.cuh pins), as device addresses.
     */
    long[] kernelParam() {
        return new long[] {rangePtr.address(), rangeData.address(), colPtr.address(), colData.address()};
    }

    public HostPlan download(CudaStream s) {
        int slots = heads * BlockPlan.blocks(seqLen) + 1;
        int[] rp = new int[slots], cp = new int[slots], rd = new int[2 * numRanges], cd = new int[numColumns];
        rangePtr.download(s, rp);
        colPtr.download(s, cp);
        if (rd.length > 0) rangeData.download(s, rd);
        if (cd.length > 0) colData.download(s, cd);
        return new HostPlan(heads, seqLen, rp, rd, cp, cd);
    }

    public static DevicePlan upload(HostPlan p, DeviceArena arena, CudaStream s) {
        DeviceBuffer rp = arena.alloc(4L * p.rangePtr().length, "plan.rangePtr");
        DeviceBuffer cp = arena.alloc(4L * p.colPtr().length, "plan.colPtr");
        DeviceBuffer rd = arena.alloc(4L * Math.max(1, p.rangeData().length), "plan.rangeData");
        DeviceBuffer cd = arena.alloc(4L * Math.max(1, p.colData().length), "plan.colData");
        rp.upload(s, p.rangePtr());
        cp.upload(s, p.colPtr());
        rd.upload(s, p.rangeData());
        cd.upload(s, p.colData());
        return new DevicePlan(p.heads(), p.seqLen(), rp, rd, cp, cd, p.rangeData().length / 2, p.colData().length);
    }
}
