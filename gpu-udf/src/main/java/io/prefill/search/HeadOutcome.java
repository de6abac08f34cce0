package io.prefill.search;

import java.util.List;

/**
 * The search's verdict for one layer and head: the chosen candidate and every family's scores,
 * averaged over the calibration documents. A pinned head (kept dense by request) has no candidates,
 * and its chosen score is dense itself: no family, cost 1, error 0.
 */
public record HeadOutcome(CandidateScore chosen, List<CandidateScore> candidates, boolean pinned) {
    public HeadOutcome {
        candidates = List.copyOf(candidates);
    }
}
