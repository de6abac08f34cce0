package io.prefill.model;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * config.json's rope_scaling block. Fields not used by a type are 0 (or empty lists);
 * originalMaxPositionEmbeddings is 0 when the config does not give one. For longrope, factor is
 * rope_scaling's "factor" or, where absent, max_position_embeddings / original_max_position_embeddings,
 * and attentionFactor is 0 unless rope_scaling gives "attention_factor". {@link RopeFrequencies}
 * applies the rules.
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings, List<Double> shortFactor, List<Double> longFactor,
                          double attentionFactor) {
    public enum Type {
        NONE("default"), LINEAR("linear"), DYNAMIC("dynamic"), LLAMA3("llama3"), LONGROPE("longrope");

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

    public RopeScaling {
        shortFactor = List.copyOf(shortFactor);
        longFactor = List.copyOf(longFactor);
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1.0, 0, 0, 0, List.of(), List.of(), 0);

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0, List.of(), List.of(), 0);
    }

    public static RopeScaling dynamic(double factor, int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.DYNAMIC, factor, 0, 0, originalMaxPositionEmbeddings, List.of(), List.of(), 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor,
                                     int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings,
                List.of(), List.of(), 0);
    }

    /**
     * LongRoPE (Phi-3): per-pair divisors of the inverse frequencies, the short ones for sequences
     * up to originalMaxPositionEmbeddings tokens and the long ones beyond.
     *
     * @param attentionFactor the cos/sin multiplier, or 0 for the default derived from factor
     */
    public static RopeScaling longrope(List<Double> shortFactor, List<Double> longFactor, double factor,
                                       double attentionFactor, int originalMaxPositionEmbeddings) {
        return new RopeScaling(Type.LONGROPE, factor, 0, 0, originalMaxPositionEmbeddings, shortFactor, longFactor,
                attentionFactor);
    }
}
