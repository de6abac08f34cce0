package io.prefill.search;

import java.util.List;

/**
 * The search's verdict for one layer and head: the chosen candidate and every family's scores,
 * averaged over the calibration documents; pinned heads (kept dense by request) have no candidates.
 */
public record HeadOutcome(CandidateScore chosen, List<CandidateScore> candidates, boolean pinned) {
    public HeadOutcome {
        candidates = List.copyOf(candidates);
    }
}
