package io.prefill.search;

/** One calibration prompt, already tokenized. */
public record CalibrationDocument(String id, int[] tokens) {
    public CalibrationDocument {
        if (id == null) throw new IllegalArgumentException("calibration document id is null");
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("calibration document '" + id + "' has no tokens");
        }
    }
}
