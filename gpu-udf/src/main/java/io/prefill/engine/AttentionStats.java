package io.prefill.engine;

/**
 * How much attention work a pre-fill did: entries (query, key) actually computed against the
 * entries dense causal attention would have computed, summed over every layer and head; and, where
 * the backend measures it, how much attention mass the sparse heads' plans kept.
 */
public record AttentionStats(long computedEntries, long denseEntries, int sparseHeadRuns, int denseHeadRuns,
                             Certificate kept) {

    public static final AttentionStats NONE = new AttentionStats(0, 0, 0, 0, Certificate.NONE);

    /** Without a certificate (a backend that does not measure kept mass). */
    public AttentionStats(long computedEntries, long denseEntries, int sparseHeadRuns, int denseHeadRuns) {
        this(computedEntries, denseEntries, sparseHeadRuns, denseHeadRuns, Certificate.NONE);
    }

    public AttentionStats {
        if (kept == null) throw new IllegalArgumentException("certificate is null (use Certificate.NONE)");
    }

    /** Fraction of dense causal attention computed: 1.0 for dense, small for sparse. */
    public double density() { return denseEntries == 0 ? 0.0 : (double) computedEntries / denseEntries; }

    public AttentionStats plus(AttentionStats o) {
        return new AttentionStats(computedEntries + o.computedEntries, denseEntries + o.denseEntries,
                sparseHeadRuns + o.sparseHeadRuns, denseHeadRuns + o.denseHeadRuns, kept.plus(o.kept));
    }

    /**
     * A document's accuracy certificate: over the sparse heads measured, the smallest and the summed
     * kept mass ({@link io.prefill.sparse.KeptMass}) and where the smallest was; and how many heads
     * a minimum kept mass sent to dense (counted with kept mass 1).
     */
    public record Certificate(double min, double sum, int heads, int worstLayer, int worstHead, int denseFallbacks) {
        public static final Certificate NONE = new Certificate(Double.NaN, 0, 0, -1, -1, 0);

        public static Certificate of(double kept, int layer, int head) { return new Certificate(kept, kept, 1, layer, head, 0); }

        /** A sparse head sent to dense (its plan kept too little): it now keeps everything. */
        public static Certificate denseFallback(int layer, int head) { return new Certificate(1, 1, 1, layer, head, 1); }

        public boolean measured() { return heads > 0; }

        public double mean() { return heads == 0 ? Double.NaN : sum / heads; }

        /** "layer L head H" of the head that kept least, or null. */
        public String worst() { return heads == 0 ? null : "layer " + worstLayer + " head " + worstHead; }

        public Certificate plus(Certificate o) {
            if (!o.measured()) return this;
            if (!measured()) return o;
            boolean mine = min < o.min || min == o.min && (worstLayer < o.worstLayer
                    || worstLayer == o.worstLayer && worstHead <= o.worstHead);
            return new Certificate(Math.min(min, o.min), sum + o.sum, heads + o.heads,
                    mine ? worstLayer : o.worstLayer, mine ? worstHead : o.worstHead, denseFallbacks + o.denseFallbacks);
        }
    }
}
