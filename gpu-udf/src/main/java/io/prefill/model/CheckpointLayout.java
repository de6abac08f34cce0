package io.prefill.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a Llama-family checkpoint in the Hugging Face layout, as the model writers produce
 * them (q/k/v and gate/up fused where the architecture stores them so), and how a writer splits
 * them into {@code model-0000N-of-0000M.safetensors} shards with a
 * {@code model.safetensors.index.json}, as transformers does.
 */
public final class CheckpointLayout {
    /** What a tensor is, which decides how a writer initialises it. */
    public enum Role { EMBEDDING, MATRIX, NORM, BIAS }

    /** One tensor: its name, row-major shape, role and, for matrices, the input width. */
    public record Tensor(String name, long[] shape, Role role, long fanIn) {
        public long numel() {
            long n = 1;
            for (long s : shape) n *= s;
            return n;
        }

        public long bytes(DType dtype) { return numel() * dtype.bytes(); }
    }

    private CheckpointLayout() { }

    /** Every tensor the loader reads for config, in the order the writers store them. */
    public static List<Tensor> tensors(ModelConfig c) {
        long h = c.hiddenSize();
        List<Tensor> out = new ArrayList<>();
        out.add(new Tensor("model.embed_tokens.weight", new long[] {c.vocabSize(), h}, Role.EMBEDDING, h));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            out.add(norm(p + "input_layernorm.weight", h));
            if (c.architecture().fusedQkv()) {
                long rows = c.qDim() + 2L * c.kvDim();
                out.add(matrix(p + "self_attn.qkv_proj.weight", rows, h));
                if (c.qkvBias()) out.add(bias(p + "self_attn.qkv_proj.bias", rows));
            } else {
                out.add(matrix(p + "self_attn.q_proj.weight", c.qDim(), h));
                out.add(matrix(p + "self_attn.k_proj.weight", c.kvDim(), h));
                out.add(matrix(p + "self_attn.v_proj.weight", c.kvDim(), h));
                if (c.qkvBias()) {
                    out.add(bias(p + "self_attn.q_proj.bias", c.qDim()));
                    out.add(bias(p + "self_attn.k_proj.bias", c.kvDim()));
                    out.add(bias(p + "self_attn.v_proj.bias", c.kvDim()));
                }
            }
            out.add(matrix(p + "self_attn.o_proj.weight", h, c.qDim()));
            out.add(norm(p + "post_attention_layernorm.weight", h));
            if (c.architecture().fusedGateUp()) {
                out.add(matrix(p + "mlp.gate_up_proj.weight", 2L * c.intermediateSize(), h));
            } else {
                out.add(matrix(p + "mlp.gate_proj.weight", c.intermediateSize(), h));
                out.add(matrix(p + "mlp.up_proj.weight", c.intermediateSize(), h));
            }
            out.add(matrix(p + "mlp.down_proj.weight", h, c.intermediateSize()));
        }
        out.add(norm("model.norm.weight", h));
        if (!c.tieWordEmbeddings()) out.add(new Tensor("lm_head.weight", new long[] {c.vocabSize(), h}, Role.MATRIX, h));
        return out;
    }

    /** The file name of shard number shard (0-based) of shards. */
    public static String shardName(int shard, int shards) {
        return String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
    }

    /**
     * Contiguous runs of tensors of roughly equal bytes, at least one tensor each.
     *
     * @throws IllegalArgumentException when there are fewer tensors than shards
     */
    public static List<List<Tensor>> shards(List<Tensor> tensors, DType dtype, int shards) {
        if (shards < 1 || shards > tensors.size()) {
            throw new IllegalArgumentException(shards + " shards for " + tensors.size() + " tensors");
        }
        long total = tensors.stream().mapToLong(t -> t.bytes(dtype)).sum();
        List<List<Tensor>> out = new ArrayList<>();
        int next = 0;
        long written = 0;
        for (int s = 0; s < shards; s++) {
            List<Tensor> shard = new ArrayList<>();
            long shardEnd = total * (s + 1) / shards;
            int leaveForOthers = shards - s - 1;
            // at least one tensor per shard; stop at this shard's share of the bytes
            do {
                Tensor t = tensors.get(next++);
                shard.add(t);
                written += t.bytes(dtype);
            } while (next < tensors.size() - leaveForOthers && written < shardEnd);
            out.add(shard);
        }
        return out;
    }

    /** model.safetensors.index.json for shards as {@link #shards} made them. */
    public static ObjectNode index(List<List<Tensor>> shards, DType dtype) {
        ObjectNode index = ModelConfigJson.MAPPER.createObjectNode();
        long total = shards.stream().flatMap(List::stream).mapToLong(t -> t.bytes(dtype)).sum();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int s = 0; s < shards.size(); s++) {
            for (Tensor t : shards.get(s)) weightMap.put(t.name(), shardName(s, shards.size()));
        }
        return index;
    }

    private static Tensor matrix(String name, long rows, long cols) {
        return new Tensor(name, new long[] {rows, cols}, Role.MATRIX, cols);
    }

    private static Tensor bias(String name, long size) {
        return new Tensor(name, new long[] {size}, Role.BIAS, 0);
    }

    private static Tensor norm(String name, long size) {
        return new Tensor(name, new long[] {size}, Role.NORM, 0);
    }
}
