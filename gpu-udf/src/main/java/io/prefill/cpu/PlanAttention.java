package io.prefill.cpu;

import io.prefill.sparse.BlockPlan;

/** Causal softmax attention of one head over exactly the entries of a plan. STUB. */
public final class PlanAttention {
    private PlanAttention() { }

    /** out[n, d] = softmax(q k^T / sqrt(d), restricted to plan) v, all [n, d] row-major. */
    public static void attend(float[] q, float[] k, float[] v, int n, int d, BlockPlan plan, float[] out) {
        throw new UnsupportedOperationException("stub");
    }
}
