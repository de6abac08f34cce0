package io.prefill.search;

import io.prefill.sparse.HeadPattern;

import java.util.List;

/**
 * One candidate's result on one head and document (or averaged over documents): the fitted
 * pattern, its real cost (computed entries / dense causal entries), the relative L2 error of the
 * head's output against dense, and the recall of dense attention mass inside its plan. Averaged
 * over documents, lowestCost and highestCost are the extremes of the per-document costs (on one
 * document both equal cost).
 *
 * @param steps on one document, for a family fitted over all documents ({@link PatternFamily#fittedOverDocuments}):
 *              its score at every step, error and recall NaN where not measured ({@link HeadSearch#evaluate});
 *              empty otherwise
 */
public record CandidateScore(PatternFamily family, HeadPattern pattern, double cost, double error, double recall,
                             double lowestCost, double highestCost, List<CandidateScore> steps) {
    public CandidateScore {
        steps = List.copyOf(steps);
    }

    /** A score on one document. */
    public CandidateScore(PatternFamily family, HeadPattern pattern, double cost, double error, double recall) {
        this(family, pattern, cost, error, recall, cost, cost, List.of());
    }

    /** The config's per-head score: higher is better, 1 is exact. */
    public double score() { return Math.max(0, 1 - error); }
}
