package io.prefill.model;

import java.util.Arrays;

/**
 * {@link ModelWeights} over a {@link WeightStore}, using the Hugging Face tensor names of
 * Llama, Mistral, Qwen2, Phi-3 and GLM. Fused projections (Phi-3's {@code qkv_proj}, Phi-3's and
 * GLM's {@code gate_up_proj}) are split into their parts' rows without copying. Every tensor is
 * looked up and its shape checked when bound, so a checkpoint that does not match its config.json
 * fails at load with the shard, tensor, expected and actual shape.
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
        return bind(c, store, false);
    }

    /**
     * @param fp8Checkpoint config.json declares FP8 weights ({@link CheckpointQuantization}): projection
     *                      weights in F8_E4M3 are read with their {@code weight_scale}; without it an
     *                      F8_E4M3 tensor is refused
     */
    public static SafetensorsModelWeights bind(ModelConfig c, WeightStore store, boolean fp8Checkpoint) {
        Binder b = new Binder(store, fp8Checkpoint);
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
            TensorView[] qkv = projections(b, a, "qkv_proj", c.architecture().fusedQkv(), hidden,
                    new Part("q_proj", q), new Part("k_proj", kv), new Part("v_proj", kv));
            TensorView[] qkvBias = c.qkvBias() ? biases(b, a, "qkv_proj",
                    new Part("q_proj", q), new Part("k_proj", kv), new Part("v_proj", kv)) : new TensorView[3];
            TensorView[] gateUp = projections(b, p + "mlp.", "gate_up_proj", c.architecture().fusedGateUp(), hidden,
                    new Part("gate_proj", inter), new Part("up_proj", inter));
            layers[i] = new LayerWeights(
                    b.get(p + "input_layernorm.weight", hidden),
                    qkv[0], qkv[1], qkv[2],
                    b.projection(a + "o_proj.weight", hidden, q),
                    qkvBias[0], qkvBias[1], qkvBias[2],
                    b.get(p + "post_attention_layernorm.weight", hidden),
                    gateUp[0], gateUp[1],
                    b.projection(p + "mlp.down_proj.weight", hidden, inter));
        }
        TensorView norm = b.get("model.norm.weight", hidden);
        // Tied checkpoints may still carry a copy of lm_head.weight; like transformers, use the embedding.
        TensorView lmHead = c.tieWordEmbeddings() ? embed : b.get("lm_head.weight", vocab, hidden);
        return new SafetensorsModelWeights(embed, layers, norm, lmHead);
    }

    /** One projection of a possibly fused weight: its own tensor name (under the same prefix) and its rows. */
    private record Part(String name, Dim rows) { }

    /**
     * The parts' weights [rows, in]: their own tensors, or rows of the one fused tensor (parts in
     * order) where the checkpoint has it. Either layout is accepted; a missing tensor is reported
     * under the architecture's own layout ({@code fusedByDefault}).
     */
    private static TensorView[] projections(Binder b, String prefix, String fused, boolean fusedByDefault, Dim in,
                                            Part... parts) {
        String fusedName = prefix + fused + ".weight";
        boolean isFused = b.store().contains(fusedName)
                || (fusedByDefault && !b.store().contains(prefix + parts[0].name() + ".weight"));
        if (!isFused) {
            TensorView[] out = new TensorView[parts.length];
            for (int i = 0; i < parts.length; i++) out[i] = b.projection(prefix + parts[i].name() + ".weight", parts[i].rows(), in);
            return out;
        }
        return rowsOf(b.projection(fusedName, stacked(parts), in), parts);
    }

    /** The parts' biases [rows], from their own tensors or the fused {@code <fused>.bias}. */
    private static TensorView[] biases(Binder b, String prefix, String fused, Part... parts) {
        String fusedName = prefix + fused + ".bias";
        if (b.store().contains(fusedName)) return rowsOf(b.get(fusedName, stacked(parts)), parts);
        TensorView[] out = new TensorView[parts.length];
        for (int i = 0; i < parts.length; i++) out[i] = b.get(prefix + parts[i].name() + ".bias", parts[i].rows());
        return out;
    }

    private static Dim stacked(Part... parts) {
        long rows = 0;
        StringBuilder label = new StringBuilder();
        for (Part p : parts) {
            rows += p.rows().size();
            label.append(label.length() == 0 ? "" : "+").append(p.rows().label());
        }
        return new Dim(rows, label.toString());
    }

    private static TensorView[] rowsOf(TensorView whole, Part... parts) {
        TensorView[] out = new TensorView[parts.length];
        long first = 0;
        for (int i = 0; i < parts.length; i++) {
            out[i] = TensorRows.of(whole, first, parts[i].rows().size());
            first += parts[i].rows().size();
        }
        return out;
    }

    /** One expected dimension and the config.json quantity it comes from. */
    private record Dim(long size, String label) {
        @Override public String toString() { return label + "=" + size; }
    }

    /** Looks tensors up and checks their shapes against the config. */
    private record Binder(WeightStore store, boolean fp8Checkpoint) {
        /** A tensor that is not a projection weight: never FP8. */
        TensorView get(String name, Dim... dims) {
            TensorView t = tensor(name, dims);
            if (t.dtype() == DType.F8_E4M3) {
                throw new ModelFormatException(store.fileOf(name) + ": tensor " + name + " is F8_E4M3; only the linear"
                        + " projections (q, k, v, o, gate, up, down) are read in FP8");
            }
            return t;
        }

        /** A projection weight [out, in]: as stored, or FP8 codes with their scales. */
        TensorView projection(String name, Dim... dims) {
            TensorView t = tensor(name, dims);
            if (t.dtype() != DType.F8_E4M3) return t;
            if (!fp8Checkpoint) {
                throw new ModelFormatException(store.fileOf(name) + ": tensor " + name + " is F8_E4M3 but config.json"
                        + " has no quantization_config saying how it is scaled");
            }
            return Fp8Weight.of(t, rowScales(name, dims[0].size()));
        }

        /** {@code <weight>_scale}: one scale per output row ([rows, 1] or [rows]) or one for the tensor ([] or [1]). */
        private float[] rowScales(String weight, long rows) {
            String name = weight + "_scale";
            if (!store.contains(name)) {
                throw new ModelFormatException(store.fileOf(weight) + ": FP8 tensor " + weight + " has no scale " + name);
            }
            long[] shape = store.shape(name);
            TensorView scale = store.get(name);
            if (scale.dtype() == DType.F8_E4M3) {
                throw new ModelFormatException(store.fileOf(name) + ": scale " + name + " is F8_E4M3; F32, BF16 or F16 is read");
            }
            float[] out = new float[Math.toIntExact(rows)];
            boolean perTensor = scale.numel() == 1 && (shape.length == 0 || (shape.length == 1 && shape[0] == 1));
            boolean perChannel = scale.numel() == rows
                    && (shape.length == 1 || (shape.length == 2 && shape[0] == rows && shape[1] == 1));
            if (perTensor) {
                Arrays.fill(out, scale.get(0));
            } else if (perChannel) {
                for (int r = 0; r < out.length; r++) out[r] = scale.get(r);
            } else {
                throw new ModelFormatException(store.fileOf(name) + ": scale " + name + " has shape " + Arrays.toString(shape)
                        + "; per-channel [" + rows + ", 1] or per-tensor [] scales are read (block or group scales are not)");
            }
            for (int r = 0; r < out.length; r++) {
                if (!(out[r] > 0 && Float.isFinite(out[r]))) {
                    throw new ModelFormatException(store.fileOf(name) + ": scale " + name + " holds " + out[r]
                            + " at row " + r + "; scales must be positive and finite");
                }
            }
            return out;
        }

        private TensorView tensor(String name, Dim... dims) {
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
