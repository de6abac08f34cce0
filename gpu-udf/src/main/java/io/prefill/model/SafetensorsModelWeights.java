package io.prefill.model;

import java.util.Arrays;

/**
 * {@link ModelWeights} over a {@link WeightStore}, using the Hugging Face tensor names of
 * Llama, Mistral and Qwen2. Every tensor is looked up and its shape checked when bound, so a
 * checkpoint that does not match its config.json fails at load with the shard, tensor,
 * expected and actual shape.
 */
public final class SafetensorsModelWeights implements ModelWeights {
    private final TensorView embed;
    private final LayerWeights[] layers;
    private final TensorView norm;
    private final TensorView lmHead;

    private SafetensorsModelWeights(TensorView embed, LayerWeights[] layers, TensorView norm, TensorView lmHead) {
        this.embed = embed;
        this.layers = layers;
        this.norm = norm;
        this.lmHead = lmHead;
    }

    public static SafetensorsModelWeights bind(ModelConfig c, WeightStore store) {
        Binder b = new Binder(store);
        Dim hidden = new Dim(c.hiddenSize(), "hidden_size");
        Dim vocab = new Dim(c.vocabSize(), "vocab_size");
        Dim q = new Dim((long) c.numHeads() * c.headDim(), "num_attention_heads*head_dim");
        Dim kv = new Dim((long) c.numKvHeads() * c.headDim(), "num_key_value_heads*head_dim");
        Dim inter = new Dim(c.intermediateSize(), "intermediate_size");

        TensorView embed = b.get("model.embed_tokens.weight", vocab, hidden);
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            String a = p + "self_attn.";
            layers[i] = new LayerWeights(
                    b.get(p + "input_layernorm.weight", hidden),
                    b.get(a + "q_proj.weight", q, hidden),
                    b.get(a + "k_proj.weight", kv, hidden),
                    b.get(a + "v_proj.weight", kv, hidden),
                    b.get(a + "o_proj.weight", hidden, q),
                    c.qkvBias() ? b.get(a + "q_proj.bias", q) : null,
                    c.qkvBias() ? b.get(a + "k_proj.bias", kv) : null,
                    c.qkvBias() ? b.get(a + "v_proj.bias", kv) : null,
                    b.get(p + "post_attention_layernorm.weight", hidden),
                    b.get(p + "mlp.gate_proj.weight", inter, hidden),
                    b.get(p + "mlp.up_proj.weight", inter, hidden),
                    b.get(p + "mlp.down_proj.weight", hidden, inter));
        }
        TensorView norm = b.get("model.norm.weight", hidden);
        // Tied checkpoints may still carry a copy of lm_head.weight; like transformers, use the embedding.
        TensorView lmHead = c.tieWordEmbeddings() ? embed : b.get("lm_head.weight", vocab, hidden);
        return new SafetensorsModelWeights(embed, layers, norm, lmHead);
    }

    /** One expected dimension and the config.json quantity it comes from. */
    private record Dim(long size, String label) {
        @Override public String toString() { return label + "=" + size; }
    }

    /** Looks tensors up and checks their shapes against the config. */
    private record Binder(WeightStore store) {
        TensorView get(String name, Dim... dims) {
            long[] expected = Arrays.stream(dims).mapToLong(Dim::size).toArray();
            if (!store.contains(name)) {
                throw new ModelFormatException(store.directory() + ": checkpoint has no tensor " + name);
            }
            long[] actual = store.shape(name);
            if (!Arrays.equals(actual, expected)) {
                throw new ModelFormatException(store.fileOf(name) + ": tensor " + name + " has shape "
                        + Arrays.toString(actual) + ", expected " + Arrays.toString(expected)
                        + " " + Arrays.toString(dims) + " from config.json");
            }
            return store.get(name);
        }
    }

    @Override public TensorView embedTokens() { return embed; }

    @Override
    public LayerWeights layer(int index) {
        if (index < 0 || index >= layers.length) {
            throw new IndexOutOfBoundsException("layer " + index + " outside [0, " + layers.length + ")");
        }
        return layers[index];
    }

    /** Number of decoder layers bound. */
    public int numLayers() { return layers.length; }

    @Override public TensorView finalNorm() { return norm; }

    @Override public TensorView lmHead() { return lmHead; }
}
