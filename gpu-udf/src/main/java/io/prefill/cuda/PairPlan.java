package io.prefill.cuda;

/**
 * The pair plan of a 64-row plan ({@link AttentionKernels#pairPlan}): per (head, 128-row pair of
 * query blocks A = 2p, B = 2p + 1) the union of both blocks' ranges and columns, and for each of
 * the union's columns one byte saying which blocks' own plans hold it (bit 0: A's, bit 1: B's;
 * pair_plan.cuh), so that the pair kernels mask a gathered key for the block that lacks it without
 * searching that block's columns. The union's numRanges and numColumns are the capacities it was
 * given (the 64-row plan's totals, which bound the union's: its build reads nothing back); its
 * pointers say how many each slot holds.
 */
public record PairPlan(DevicePlan union, DeviceBuffer columnOwners) {
    public PairPlan {
        if (columnOwners.bytes() < Math.max(1, union.numColumns()))
            throw new IllegalArgumentException("pair plan: " + columnOwners.bytes() + " owner bytes for "
                    + union.numColumns() + " columns");
    }
}
