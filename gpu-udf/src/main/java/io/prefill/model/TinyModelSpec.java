package io.prefill.model;

/**
 * Dimensions of a tiny random model for tests and the demo. The vocabulary comes from the
 * tokenizer the writer builds, so it is not part of the spec.
 */
public record TinyModelSpec(Architecture architecture, int hiddenSize, int intermediateSize, int numLayers,
                            int numHeads, int numKvHeads, int headDim, double ropeTheta, RopeScaling ropeScaling,
                            boolean tieWordEmbeddings, DType dtype, int maxPositionEmbeddings) {

    /** Llama-3 shaped: GQA 4 heads over 2 KV heads, rope_theta 500000, BF16, a 1M-token context. */
    public static TinyModelSpec demo() {
        return new TinyModelSpec(Architecture.LLAMA, 64, 172, 2, 4, 2, 16, 500000.0, RopeScaling.NONE,
                false, DType.BF16, 1 << 20);
    }

    public TinyModelSpec withArchitecture(Architecture a) {
        return new TinyModelSpec(a, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                ropeTheta, ropeScaling, tieWordEmbeddings, dtype, maxPositionEmbeddings);
    }

    public TinyModelSpec withDtype(DType d) {
        return new TinyModelSpec(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                ropeTheta, ropeScaling, tieWordEmbeddings, d, maxPositionEmbeddings);
    }

    public TinyModelSpec withTieWordEmbeddings(boolean tie) {
        return new TinyModelSpec(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                ropeTheta, ropeScaling, tie, dtype, maxPositionEmbeddings);
    }

    public TinyModelSpec withRopeScaling(RopeScaling s) {
        return new TinyModelSpec(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                ropeTheta, s, tieWordEmbeddings, dtype, maxPositionEmbeddings);
    }

    public TinyModelSpec withLayers(int layers) {
        return new TinyModelSpec(architecture, hiddenSize, intermediateSize, layers, numHeads, numKvHeads, headDim,
                ropeTheta, ropeScaling, tieWordEmbeddings, dtype, maxPositionEmbeddings);
    }

    /**
     * The config.json contents for a tokenizer of vocabSize tokens. Qwen2 and GLM get their q/k/v
     * bias, GLM its half-width rotary part (the architectures' defaults).
     */
    public ModelConfig toConfig(int vocabSize, int bosTokenId, int eosTokenId) {
        ModelConfig c = new ModelConfig(architecture, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads,
                numKvHeads, headDim, 1e-5, ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings,
                architecture.defaultQkvBias(), bosTokenId, eosTokenId);
        c.validate("TinyModelSpec");
        return c;
    }
}
