package io.prefill.model;

/** STUB: scaled RoPE inverse frequencies; implemented on the model branch. */
public final class RopeFrequencies {
    private RopeFrequencies() { }

    public static double[] inverseFrequencies(ModelConfig c, int seqLen) {
        throw new UnsupportedOperationException("stub");
    }
}
