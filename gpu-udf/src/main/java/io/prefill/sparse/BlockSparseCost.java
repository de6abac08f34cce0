package io.prefill.sparse;

/**
 * The computed entries of a block-sparse plan, which do not depend on the input: query block b
 * keeps min(max(topBlocks, 2), b + 1) key blocks ({@link BlockSparseEstimator}), the diagonal one
 * (causal triangle) and full 64-key blocks before it. The pattern search fits the budget with it
 * without building a plan per trial budget.
 */
public final class BlockSparseCost {
    private BlockSparseCost() { }

    public static long computedEntries(int n, int topBlocks) {
        if (topBlocks < 1) throw new IllegalArgumentException("topBlocks must be >= 1, got " + topBlocks);
        long total = 0;
        int blocks = BlockPlan.blocks(n);
        for (int b = 0; b < blocks; b++) {
            long rows = RangePlan.blockEnd(b, n) - (long) b * BlockPlan.BLOCK;
            long kept = BlockSparseEstimator.keptBlocks(topBlocks, b);
            total += (kept - 1) * BlockPlan.BLOCK * rows + rows * (rows + 1) / 2;
        }
        return total;
    }

    /** As a fraction of dense causal attention. */
    public static double density(int n, int topBlocks) {
        return computedEntries(n, topBlocks) / ((double) n * (n + 1) / 2);
    }
}
