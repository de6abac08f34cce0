package io.prefill.search;

import java.util.List;

/**
 * Scores one calibration document on one backend: a dense pre-fill and, for every layer and
 * query head, one {@link CandidateScore} per family of the options (in their order), each family
 * fitted to the target cost on that head's real plan (a family fitted on the longest document only
 * keeps that document's pattern). The CPU reference is {@link CpuCalibrationScorer};
 * the cuda backend's twin runs the same steps on the device.
 */
public interface CalibrationScorer {
    /**
     * @param skip            skip[layer][head]: pinned heads, which get an empty list
     * @param fittedOnLongest the longest document's scores[layer][head][family], whose patterns the
     *                        families fitted on the longest document only keep here
     *                        ({@link PatternFamily#fittedOnLongestOnly}); null when scoring the longest document
     * @return scores[layer][head][family]
     */
    List<List<List<CandidateScore>>> score(CalibrationDocument document, SearchOptions options, boolean[][] skip,
                                           List<List<List<CandidateScore>>> fittedOnLongest);

    /** The backend's name for reports ("cpu", "cuda"). */
    String backend();
}
