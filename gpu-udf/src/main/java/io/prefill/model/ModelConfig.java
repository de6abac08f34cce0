package io.prefill.model;

import java.nio.file.Path;

/** The parts of a Hugging Face config.json that the forward pass needs. */
public record ModelConfig(Architecture architecture, int vocabSize, int hiddenSize, int intermediateSize,
                          int numLayers, int numHeads, int numKvHeads, int headDim, double rmsNormEps,
                          double ropeTheta, RopeScaling ropeScaling, int maxPositionEmbeddings,
                          boolean tieWordEmbeddings, boolean qkvBias, int bosTokenId, int eosTokenId) {

    /** Query heads per KV head. */
    public int groupSize() { return numHeads / numKvHeads; }

    /** Parses and validates config.json; errors name the file. STUB. */
    public static ModelConfig read(Path configJson) {
        throw new UnsupportedOperationException("stub");
    }

    /** Serialises in the Hugging Face layout (used by the tiny-model writer). STUB. */
    public String toJson() {
        throw new UnsupportedOperationException("stub");
    }
}
