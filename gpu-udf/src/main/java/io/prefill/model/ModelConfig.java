package io.prefill.model;

import java.nio.file.Path;

/**
 * The parts of a Hugging Face config.json that the forward pass needs. partialRotaryFactor is the
 * share of each head's dimensions that RoPE rotates (the first {@link #rotaryDim()}; GLM rotates half).
 */
public record ModelConfig(Architecture architecture, int vocabSize, int hiddenSize, int intermediateSize,
                          int numLayers, int numHeads, int numKvHeads, int headDim, double rmsNormEps,
                          double ropeTheta, RopeScaling ropeScaling, double partialRotaryFactor,
                          int maxPositionEmbeddings, boolean tieWordEmbeddings, boolean qkvBias,
                          int bosTokenId, int eosTokenId) {

    /** A config with the architecture's default partial_rotary_factor. */
    public ModelConfig(Architecture architecture, int vocabSize, int hiddenSize, int intermediateSize,
                       int numLayers, int numHeads, int numKvHeads, int headDim, double rmsNormEps,
                       double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings,
                       boolean tieWordEmbeddings, boolean qkvBias, int bosTokenId, int eosTokenId) {
        this(architecture, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                rmsNormEps, ropeTheta, ropeScaling, architecture == null ? 1.0 : architecture.defaultPartialRotaryFactor(),
                maxPositionEmbeddings, tieWordEmbeddings, qkvBias, bosTokenId, eosTokenId);
    }

    /** Query heads per KV head. */
    public int groupSize() { return numHeads / numKvHeads; }

    /** Width of the concatenated query heads (rows of q_proj). */
    public int qDim() { return numHeads * headDim; }

    /** Width of the concatenated key (or value) heads (rows of k_proj and v_proj). */
    public int kvDim() { return numKvHeads * headDim; }

    /** Dimensions of each head that RoPE rotates, the first ones: head_dim * partial_rotary_factor, truncated as transformers does. */
    public int rotaryDim() { return (int) (headDim * partialRotaryFactor); }

    /** Which of the rotary dimensions rotate together. */
    public RotaryPairing rotaryPairing() { return architecture.rotaryPairing(); }

    /** Parses and validates config.json; errors name the file. */
    public static ModelConfig read(Path configJson) {
        return ModelConfigJson.read(configJson);
    }

    /** Parses config.json text; {@code source} names it in error messages. */
    public static ModelConfig fromJson(String json, String source) {
        return ModelConfigJson.parse(json, source);
    }

    /** Serialises in the Hugging Face layout (used by the tiny-model writer); {@link #read} reads it back. */
    public String toJson() {
        return ModelConfigJson.write(this);
    }

    /**
     * Checks the invariants the engine relies on; {@code source} (usually the config.json path)
     * starts every message.
     *
     * @throws ModelFormatException on the first violated invariant
     */
    public void validate(String source) {
        ModelConfigJson.validate(this, source);
    }
}
