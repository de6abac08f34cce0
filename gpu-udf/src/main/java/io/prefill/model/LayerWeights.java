package io.prefill.model;

/**
 * One decoder layer's tensors, shapes checked against the config. Projection weights are
 * [out, in] as in PyTorch's Linear. Biases are null unless the config has QKV bias.
 */
public record LayerWeights(TensorView inputNorm, TensorView q, TensorView k, TensorView v, TensorView o,
                           TensorView qBias, TensorView kBias, TensorView vBias,
                           TensorView postAttentionNorm, TensorView gate, TensorView up, TensorView down) {
}
