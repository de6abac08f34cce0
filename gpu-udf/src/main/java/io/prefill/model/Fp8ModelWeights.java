package io.prefill.model;

/**
 * A model's weights with every linear projection (q, k, v, o, gate, up, down) quantised to FP8
 * E4M3 with per-output-channel scales ({@link Fp8Weight#quantise}); embeddings, norms, biases and
 * lm_head stay as stored. Projections already in FP8 (an FP8 checkpoint) are kept as they are.
 */
public final class Fp8ModelWeights implements ModelWeights {
    private final ModelWeights stored;
    private final LayerWeights[] layers;

    private Fp8ModelWeights(ModelWeights stored, LayerWeights[] layers) {
        this.stored = stored;
        this.layers = layers;
    }

    /** Quantises all numLayers layers' projections now, at load. */
    public static Fp8ModelWeights quantise(ModelWeights stored, int numLayers) {
        LayerWeights[] layers = new LayerWeights[numLayers];
        for (int i = 0; i < numLayers; i++) {
            LayerWeights l = stored.layer(i);
            layers[i] = new LayerWeights(l.inputNorm(), fp8(l.q()), fp8(l.k()), fp8(l.v()), fp8(l.o()),
                    l.qBias(), l.kBias(), l.vBias(), l.postAttentionNorm(), fp8(l.gate()), fp8(l.up()), fp8(l.down()));
        }
        return new Fp8ModelWeights(stored, layers);
    }

    private static TensorView fp8(TensorView w) {
        return w.dtype() == DType.F8_E4M3 ? w : Fp8Weight.quantise(w);
    }

    @Override public TensorView embedTokens() { return stored.embedTokens(); }

    @Override
    public LayerWeights layer(int index) {
        if (index < 0 || index >= layers.length) {
            throw new IndexOutOfBoundsException("layer " + index + " outside [0, " + layers.length + ")");
        }
        return layers[index];
    }

    @Override public TensorView finalNorm() { return stored.finalNorm(); }

    @Override public TensorView lmHead() { return stored.lmHead(); }
}
