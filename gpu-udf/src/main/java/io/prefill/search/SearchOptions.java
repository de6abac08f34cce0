package io.prefill.search;

import java.util.List;

/**
 * @param targetCost      fraction of dense causal attention each candidate may compute, in (0, 1]
 * @param minSparseLength written to the config; calibration documents must be at least this long
 * @param recallRows      rows sampled for the recall of attention mass
 * @param tieTolerance    a family within (1 + tol) x best error + tol/1000 counts as tied and wins if earlier in
 *                        {@link PatternFamily}'s preference order
 * @param families        the candidate families tried
 * @param scoredRows      the rows whose output error scores a candidate
 */
public record SearchOptions(double targetCost, int minSparseLength, int recallRows, double tieTolerance,
                            List<PatternFamily> families, ScoredRows scoredRows) {
    /**
     * Which rows of a head's output the error is measured on. {@code ALL}: every row, for outputs that
     * use every position (KV summaries). {@code LAST_BLOCK}: the last query block, the (at most 64) rows that
     * end the prompt, whose last row becomes the first token; it ranks patterns by what a first-token job
     * reads, at the price of ignoring what the other rows pass to the next layer.
     */
    public enum ScoredRows { ALL, LAST_BLOCK }

    /** Every row scored. */
    public SearchOptions(double targetCost, int minSparseLength, int recallRows, double tieTolerance,
                         List<PatternFamily> families) {
        this(targetCost, minSparseLength, recallRows, tieTolerance, families, ScoredRows.ALL);
    }

    public SearchOptions {
        if (scoredRows == null) throw new IllegalArgumentException("scored rows must be given");
        if (!(targetCost > 0 && targetCost <= 1)) {
            throw new IllegalArgumentException("target cost must be a fraction of dense in (0, 1], got " + targetCost);
        }
        if (minSparseLength < 0) throw new IllegalArgumentException("min_sparse_length must be >= 0, got " + minSparseLength);
        if (recallRows < 1) throw new IllegalArgumentException("recall rows must be >= 1, got " + recallRows);
        if (tieTolerance < 0) throw new IllegalArgumentException("tie tolerance must be >= 0, got " + tieTolerance);
        if (families.isEmpty()) throw new IllegalArgumentException("no candidate families");
        families = List.copyOf(families);
    }

    /** The default families ({@link PatternFamily#DEFAULT}), 256 recall rows, tie tolerance 0.1, every row scored. */
    public static SearchOptions defaults(double targetCost, int minSparseLength) {
        return new SearchOptions(targetCost, minSparseLength, 256, 0.1, PatternFamily.DEFAULT);
    }
}
