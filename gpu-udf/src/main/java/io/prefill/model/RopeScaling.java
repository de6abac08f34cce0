package io.prefill.model;

/**
 * config.json's rope_scaling block. Fields not used by a type are 0.
 * STUB: semantics implemented by the model package owner.
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {
    public enum Type { NONE, LINEAR, DYNAMIC, LLAMA3 }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1.0, 0, 0, 0);
}
