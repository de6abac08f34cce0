package io.prefill.model;

import java.util.List;

/**
 * Rotary-embedding inverse frequencies after the config's rope scaling, following the rules of
 * transformers' {@code ROPE_INIT_FUNCTIONS} so positions rotate exactly as in the reference model.
 * Rotation angle of pair i at position p is {@code p * inverseFrequencies[i]}; which dimensions
 * form pair i is the config's {@link RotaryPairing}, and cos and sin are multiplied by
 * {@link #attentionScaling}.
 */
public final class RopeFrequencies {
    private RopeFrequencies() { }

    /**
     * rotaryDim/2 inverse frequencies for a sequence of {@code seqLen} tokens (the dynamic NTK and
     * longrope rules depend on it).
     */
    public static double[] inverseFrequencies(ModelConfig c, int seqLen) {
        int d = c.rotaryDim();
        RopeScaling s = c.ropeScaling() == null ? RopeScaling.NONE : c.ropeScaling();
        return switch (s.type()) {
            case NONE -> unscaled(d, c.ropeTheta());
            case LINEAR -> divide(unscaled(d, c.ropeTheta()), s.factor());
            case DYNAMIC -> unscaled(d, dynamicBase(c, s, seqLen));
            case LLAMA3 -> llama3(unscaled(d, c.ropeTheta()), s);
            case LONGROPE -> divide(unscaled(d, c.ropeTheta()), longropeFactors(s, seqLen));
        };
    }

    /**
     * The multiplier of cos and sin (so of every rotated query and key): 1, but for longrope its
     * attention_factor or, by default, sqrt(1 + ln(factor) / ln(original_max_position_embeddings))
     * when factor > 1. It does not depend on the sequence length.
     */
    public static double attentionScaling(ModelConfig c) {
        RopeScaling s = c.ropeScaling() == null ? RopeScaling.NONE : c.ropeScaling();
        if (s.type() != RopeScaling.Type.LONGROPE) return 1.0;
        if (s.attentionFactor() > 0) return s.attentionFactor();
        if (s.factor() <= 1.0) return 1.0;
        return Math.sqrt(1 + Math.log(s.factor()) / Math.log(s.originalMaxPositionEmbeddings()));
    }

    /**
     * Longrope's per-pair divisors: the long factors once the sequence is longer than the original
     * context (transformers compares max(position_ids) + 1, the sequence length, with it), else the short ones.
     */
    static List<Double> longropeFactors(RopeScaling s, int seqLen) {
        return seqLen > s.originalMaxPositionEmbeddings() ? s.longFactor() : s.shortFactor();
    }

    /** theta^(-2i/d) for i in [0, d/2), d the rotary dimensions. */
    public static double[] unscaled(int rotaryDim, double theta) {
        double[] inv = new double[rotaryDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / rotaryDim);
        }
        return inv;
    }

    private static double[] divide(double[] inv, double factor) {
        for (int i = 0; i < inv.length; i++) inv[i] /= factor;
        return inv;
    }

    private static double[] divide(double[] inv, List<Double> perPair) {
        for (int i = 0; i < inv.length; i++) inv[i] /= perPair.get(i);
        return inv;
    }

    /** Dynamic NTK: the base grows once the sequence is longer than the trained context. */
    private static double dynamicBase(ModelConfig c, RopeScaling s, int seqLen) {
        int trained = s.originalMaxPositionEmbeddings() > 0 ? s.originalMaxPositionEmbeddings() : c.maxPositionEmbeddings();
        if (seqLen <= trained) return c.ropeTheta();
        double d = c.rotaryDim();
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
