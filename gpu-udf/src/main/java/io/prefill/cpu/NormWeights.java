package io.prefill.cpu;

import io.prefill.model.ModelWeights;

/** Every RMSNorm weight of a model, decoded once: they are read for every token. */
record NormWeights(float[][] input, float[][] postAttention, float[] last) {

    static NormWeights of(ModelWeights weights, int layers) {
        float[][] input = new float[layers][];
        float[][] post = new float[layers][];
        for (int l = 0; l < layers; l++) {
            input[l] = weights.layer(l).inputNorm().toFloatArray();
            post[l] = weights.layer(l).postAttentionNorm().toFloatArray();
        }
        return new NormWeights(input, post, weights.finalNorm().toFloatArray());
    }
}
