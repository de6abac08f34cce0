package io.prefill.engine;

/**
 * How much attention work a pre-fill did: entries (query, key) actually computed against the
 * entries dense causal attention would have computed, summed over every layer and head.
 */
public record AttentionStats(long computedEntries, long denseEntries, int sparseHeadRuns, int denseHeadRuns) {

    public static final AttentionStats NONE = new AttentionStats(0, 0, 0, 0);

    /** Fraction of dense causal attention computed: 1.0 for dense, small for sparse. */
    public double density() { return denseEntries == 0 ? 0.0 : (double) computedEntries / denseEntries; }

    public AttentionStats plus(AttentionStats o) {
        return new AttentionStats(computedEntries + o.computedEntries, denseEntries + o.denseEntries,
                sparseHeadRuns + o.sparseHeadRuns, denseHeadRuns + o.denseHeadRuns);
    }
}
