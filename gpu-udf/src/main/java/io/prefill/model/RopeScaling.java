package io.prefill.model;

import java.util.Locale;
import java.util.Optional;

/**
 * config.json's rope_scaling block. Fields not used by a type are 0; originalMaxPositionEmbeddings
 * is 0 when the config does not give one. {@link RopeFrequencies} applies the rules.
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {
    public enum Type {
        NONE("default"), LINEAR("linear"), DYNAMIC("dynamic"), LLAMA3("llama3");

        private final String hfName;

        Type(String hfName) { this.hfName = hfName; }

        /** The "rope_type" value in config.json. */
        public String hfName() { return hfName; }

        /** The type for a config.json "rope_type" (or legacy "type") value, if supported. */
        public static Optional<Type> fromHfName(String name) {
            String n = name.toLowerCase(Locale.ROOT);
            for (Type t : values()) {
                if (t.hfName.equals(n)) return Optional.of(t);
            }
            return Optional.empty();
        }
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1.0, 0, 0, 0);

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling dynamic(double factor, int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.DYNAMIC, factor, 0, 0, originalMaxPositionEmbeddings);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor,
                                     int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
    }
}
