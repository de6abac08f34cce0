package io.prefill.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes a complete tiny model directory (config.json, safetensors weights, tokenizer.json)
 * with seeded random weights, in the Hugging Face layout {@link LoadedModel#open} reads.
 *
 * <p>Initialisation keeps activations near unit scale so logits are spread but not
 * degenerate: projection weights ~ N(0, 1/fan_in), embedding and lm_head ~ N(0, 1/hidden),
 * norm weights ~ 1 + N(0, 0.05^2) (not exactly 1, so a forward pass that ignores them is
 * caught), q/k/v biases ~ N(0, 0.1^2).
 */
public final class TinyModelWriter {
    private TinyModelWriter() { }

    private record Tensor(String name, long[] shape, float[] values) {
        long bytes(DType dtype) { return (long) values.length * dtype.bytes(); }
    }

    public static void write(Path dir, TinyModelSpec spec, long seed) {
        write(dir, spec, seed, 1);
    }

    /** As {@link #write(Path, TinyModelSpec, long)}, the weights split into shards files plus an index when shards > 1. */
    public static void write(Path dir, TinyModelSpec spec, long seed, int shards) {
        try {
            Files.createDirectories(dir);
            TokenizerBuilder.TrainedBpe tokenizer = TokenizerBuilder.demo();
            tokenizer.write(dir.resolve(LoadedModel.TOKENIZER_FILE));
            ModelConfig config = spec.toConfig(tokenizer.vocabSize(), tokenizer.bosId(), tokenizer.eosId());
            ObjectNode json = ModelConfigJson.toTree(config);
            json.put("torch_dtype", switch (spec.dtype()) {
                case BF16 -> "bfloat16";
                case F16 -> "float16";
                case F32 -> "float32";
            });
            Files.writeString(dir.resolve(LoadedModel.CONFIG_FILE), ModelConfigJson.MAPPER.writeValueAsString(json));
            List<Tensor> tensors = randomWeights(config, new Random(seed));
            if (shards <= 1) {
                SafetensorsWriter w = new SafetensorsWriter();
                tensors.forEach(t -> w.add(t.name(), spec.dtype(), t.shape(), t.values()));
                w.write(dir.resolve(WeightStore.SINGLE_FILE));
            } else {
                writeSharded(dir, tensors, spec.dtype(), shards);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tiny model to " + dir, e);
        }
    }

    private static List<Tensor> randomWeights(ModelConfig c, Random r) {
        int h = c.hiddenSize();
        List<Tensor> out = new ArrayList<>();
        out.add(normal(r, "model.embed_tokens.weight", 1.0 / Math.sqrt(h), c.vocabSize(), h));
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            out.add(norm(r, p + "input_layernorm.weight", h));
            out.add(normal(r, p + "self_attn.q_proj.weight", 1.0 / Math.sqrt(h), c.qDim(), h));
            out.add(normal(r, p + "self_attn.k_proj.weight", 1.0 / Math.sqrt(h), c.kvDim(), h));
            out.add(normal(r, p + "self_attn.v_proj.weight", 1.0 / Math.sqrt(h), c.kvDim(), h));
            if (c.qkvBias()) {
                out.add(normal(r, p + "self_attn.q_proj.bias", 0.1, c.qDim()));
                out.add(normal(r, p + "self_attn.k_proj.bias", 0.1, c.kvDim()));
                out.add(normal(r, p + "self_attn.v_proj.bias", 0.1, c.kvDim()));
            }
            out.add(normal(r, p + "self_attn.o_proj.weight", 1.0 / Math.sqrt(c.qDim()), h, c.qDim()));
            out.add(norm(r, p + "post_attention_layernorm.weight", h));
            out.add(normal(r, p + "mlp.gate_proj.weight", 1.0 / Math.sqrt(h), c.intermediateSize(), h));
            out.add(normal(r, p + "mlp.up_proj.weight", 1.0 / Math.sqrt(h), c.intermediateSize(), h));
            out.add(normal(r, p + "mlp.down_proj.weight", 1.0 / Math.sqrt(c.intermediateSize()), h, c.intermediateSize()));
        }
        out.add(norm(r, "model.norm.weight", h));
        if (!c.tieWordEmbeddings()) out.add(normal(r, "lm_head.weight", 1.0 / Math.sqrt(h), c.vocabSize(), h));
        return out;
    }

    private static Tensor normal(Random r, String name, double std, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
        return new Tensor(name, shape, v);
    }

    private static Tensor norm(Random r, String name, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) (1.0 + 0.05 * r.nextGaussian());
        return new Tensor(name, new long[] {size}, v);
    }

    /** Contiguous runs of tensors of roughly equal bytes, named and indexed as transformers does. */
    private static void writeSharded(Path dir, List<Tensor> tensors, DType dtype, int shards) throws IOException {
        if (shards > tensors.size()) {
            throw new IllegalArgumentException(shards + " shards for only " + tensors.size() + " tensors");
        }
        long total = tensors.stream().mapToLong(t -> t.bytes(dtype)).sum();
        ObjectNode index = ModelConfigJson.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        int next = 0;
        long written = 0;
        for (int s = 0; s < shards; s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            SafetensorsWriter w = new SafetensorsWriter();
            long shardEnd = total * (s + 1) / shards;
            int leaveForOthers = shards - s - 1;
            // at least one tensor per shard; stop at this shard's share of the bytes
            do {
                Tensor t = tensors.get(next++);
                w.add(t.name(), dtype, t.shape(), t.values());
                weightMap.put(t.name(), name);
                written += t.bytes(dtype);
            } while (next < tensors.size() - leaveForOthers && written < shardEnd);
            w.write(dir.resolve(name));
        }
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE), ModelConfigJson.MAPPER.writeValueAsString(index));
    }
}
