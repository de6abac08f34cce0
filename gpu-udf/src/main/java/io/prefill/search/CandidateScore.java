package io.prefill.search;

import io.prefill.sparse.HeadPattern;

/**
 * One candidate's result on one head and document (or averaged over documents): the fitted
 * pattern, its real cost (computed entries / dense causal entries), the relative L2 error of the
 * head's output against dense, and the recall of dense attention mass inside its plan. Averaged
 * over documents, lowestCost and highestCost are the extremes of the per-document costs (on one
 * document both equal cost).
 */
public record CandidateScore(PatternFamily family, HeadPattern pattern, double cost, double error, double recall,
                             double lowestCost, double highestCost) {
    /** A score on one document. */
    public CandidateScore(PatternFamily family, HeadPattern pattern, double cost, double error, double recall) {
        this(family, pattern, cost, error, recall, cost, cost);
    }

    /** The config's per-head score: higher is better, 1 is exact. */
    public double score() { return Math.max(0, 1 - error); }
}
