package io.prefill.model;

/**
 * Rotary-embedding inverse frequencies after the config's rope scaling, following the rules of
 * transformers' {@code ROPE_INIT_FUNCTIONS} so positions rotate exactly as in the reference model.
 * Rotation angle of pair i at position p is {@code p * inverseFrequencies[i]}.
 */
public final class RopeFrequencies {
    private RopeFrequencies() { }

    /**
     * headDim/2 inverse frequencies for a sequence of {@code seqLen} tokens (only the dynamic
     * NTK rule depends on it).
     */
    public static double[] inverseFrequencies(ModelConfig c, int seqLen) {
        int d = c.headDim();
        RopeScaling s = c.ropeScaling() == null ? RopeScaling.NONE : c.ropeScaling();
        return switch (s.type()) {
            case NONE -> unscaled(d, c.ropeTheta());
            case LINEAR -> divide(unscaled(d, c.ropeTheta()), s.factor());
            case DYNAMIC -> unscaled(d, dynamicBase(c, s, seqLen));
            case LLAMA3 -> llama3(unscaled(d, c.ropeTheta()), s);
        };
    }

    /** theta^(-2i/d) for i in [0, d/2). */
    public static double[] unscaled(int headDim, double theta) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        }
        return inv;
    }

    private static double[] divide(double[] inv, double factor) {
        for (int i = 0; i < inv.length; i++) inv[i] /= factor;
        return inv;
    }

    /** Dynamic NTK: the base grows once the sequence is longer than the trained context. */
    private static double dynamicBase(ModelConfig c, RopeScaling s, int seqLen) {
        int trained = s.originalMaxPositionEmbeddings() > 0 ? s.originalMaxPositionEmbeddings() : c.maxPositionEmbeddings();
        if (seqLen <= trained) return c.ropeTheta();
        double d = c.headDim();
        double factor = s.factor();
        return c.ropeTheta() * Math.pow(factor * seqLen / trained - (factor - 1), d / (d - 2));
    }

    /** Llama 3.1: long wavelengths slowed by factor, short ones kept, a smooth blend in between. */
    private static double[] llama3(double[] inv, RopeScaling s) {
        double trained = s.originalMaxPositionEmbeddings();
        double low = s.lowFreqFactor();
        double high = s.highFreqFactor();
        double lowFreqWavelen = trained / low;
        double highFreqWavelen = trained / high;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = inv[i] / s.factor();
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (trained / wavelen - low) / (high - low);
                inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
            }
        }
        return inv;
    }
}
