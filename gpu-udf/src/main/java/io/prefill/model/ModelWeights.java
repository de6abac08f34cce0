package io.prefill.model;

/** Typed access to a checkpoint's tensors, every shape checked against the config when bound. */
public interface ModelWeights {
    TensorView embedTokens();

    LayerWeights layer(int index);

    TensorView finalNorm();

    /** lm_head.weight, or the embedding when tie_word_embeddings is set. */
    TensorView lmHead();
}
