package io.prefill.search;

import java.util.List;

/**
 * Scores one calibration document on one backend: a dense pre-fill and, for every layer and
 * query head, one {@link CandidateScore} per family of the options (in their order), each family
 * fitted to the target cost on that head's real plan. The CPU reference is {@link CpuCalibrationScorer};
 * the cuda backend's twin runs the same steps on the device.
 */
public interface CalibrationScorer {
    /**
     * @param skip      skip[layer][head]: pinned heads, which get an empty list
     * @param documents how many documents the search scores (see {@link HeadSearch#evaluate(HeadInputs, SearchOptions, int)})
     * @return scores[layer][head][family]
     */
    List<List<List<CandidateScore>>> score(CalibrationDocument document, SearchOptions options, boolean[][] skip,
                                           int documents);

    /** The backend's name for reports ("cpu", "cuda"). */
    String backend();

    /**
     * The error this backend's own rounding gives a plan that computes every needed entry: errors
     * closer than this say nothing about the plans, and the search counts them as tied (0 for the
     * cpu's fp32 reference).
     */
    default double errorFloor() { return 0; }
}
