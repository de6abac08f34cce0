package io.prefill.sparse;

/** Turns a head's pattern and its Q/K into the plan the attention computes. STUB. */
public final class HeadPlanner {
    private HeadPlanner() { }

    /**
     * @param q one query head, [n, d] row-major, RoPE applied
     * @param k the KV head it reads, [n, d] row-major, RoPE applied
     */
    public static BlockPlan plan(HeadPattern pattern, int minSparseLength, float[] q, float[] k, int n, int d) {
        throw new UnsupportedOperationException("stub");
    }
}
