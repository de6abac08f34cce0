package io.prefill.sparse;

/**
 * Turns a head's pattern and its Q/K into the plan the attention computes. Under grouped-query
 * attention the caller passes the query head and the KV head that query head reads: plans are
 * per query head.
 */
public final class HeadPlanner {
    private HeadPlanner() { }

    /**
     * Dense when the pattern is dense or n < minSparseLength (too short for the estimate to pay
     * off); otherwise the pattern's plan for this input.
     *
     * @param q one query head, [n, d] row-major, RoPE applied
     * @param k the KV head it reads, [n, d] row-major, RoPE applied
     */
    public static BlockPlan plan(HeadPattern pattern, int minSparseLength, float[] q, float[] k, int n, int d) {
        if (pattern instanceof HeadPattern.Dense || n < minSparseLength) {
            return RangePlan.dense(n);
        }
        if (pattern instanceof HeadPattern.AShape a) {
            return RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, a.nInit(), a.nLocal()));
        }
        if (pattern instanceof HeadPattern.VerticalSlash vs) {
            return RangePlan.fromVerticalSlash(n,
                VerticalSlashEstimator.estimate(q, k, n, d, vs.verticalSize(), vs.slashSize()));
        }
        if (pattern instanceof HeadPattern.Adaptive a) {
            return RangePlan.fromVerticalSlash(n, VerticalSlashEstimator.estimateAdaptive(q, k, n, d, a));
        }
        if (pattern instanceof HeadPattern.BlockSparse bs) {
            return RangePlan.fromKeyBlocks(n, BlockSparseEstimator.topKeyBlocks(q, k, n, d, bs.topBlocks()));
        }
        throw new IllegalArgumentException("unknown head pattern " + pattern);
    }
}
