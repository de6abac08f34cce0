package io.prefill.kv;

/**
 * Sees each layer's attention inputs during a pre-fill, after RoPE and before the layer's K and V
 * are dropped: the hook through which a backend builds a KV summary from the same tensors its
 * attention used. Called once per layer, in order, from the pre-fill's thread.
 */
@FunctionalInterface
public interface LayerKvObserver {
    /**
     * @param qHeads [numHeads] query heads, each [n, headDim] row-major
     * @param kHeads [numKvHeads] key heads, each [n, headDim]
     * @param vHeads [numKvHeads] value heads, each [n, headDim]
     */
    void onLayer(int layer, int n, int headDim, float[][] qHeads, float[][] kHeads, float[][] vHeads);
}
