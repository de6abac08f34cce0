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
                case F8_E4M3 -> throw new IllegalArgumentException("tiny models are written in bf16, f16 or f32, then quantised");
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
        double h = c.hiddenSize();
        List<Tensor> out = new ArrayList<>();
        for (CheckpointLayout.Tensor t : CheckpointLayout.tensors(c)) {
            out.add(switch (t.role()) {
                case EMBEDDING -> normal(r, t, 1.0 / Math.sqrt(h));
                case MATRIX -> normal(r, t, 1.0 / Math.sqrt(t.fanIn()));
                case BIAS -> normal(r, t, 0.1);
                case NORM -> norm(r, t);
            });
        }
        return out;
    }

    private static Tensor normal(Random r, CheckpointLayout.Tensor t, double std) {
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
        return new Tensor(t.name(), t.shape(), v);
    }

    private static Tensor norm(Random r, CheckpointLayout.Tensor t) {
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) (1.0 + 0.05 * r.nextGaussian());
        return new Tensor(t.name(), t.shape(), v);
    }

    /** Contiguous runs of tensors of roughly equal bytes, named and indexed as transformers does. */
    private static void writeSharded(Path dir, List<Tensor> tensors, DType dtype, int shards) throws IOException {
        if (shards > tensors.size()) {
            throw new IllegalArgumentException(shards + " shards for only " + tensors.size() + " tensors");
        }
        List<CheckpointLayout.Tensor> layout = tensors.stream()
                .map(t -> new CheckpointLayout.Tensor(t.name(), t.shape(), CheckpointLayout.Role.MATRIX, 0)).toList();
        List<List<CheckpointLayout.Tensor>> plan = CheckpointLayout.shards(layout, dtype, shards);
        int next = 0;
        for (int s = 0; s < plan.size(); s++) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (int i = 0; i < plan.get(s).size(); i++) {
                Tensor t = tensors.get(next++);
                w.add(t.name(), dtype, t.shape(), t.values());
            }
            w.write(dir.resolve(CheckpointLayout.shardName(s, shards)));
        }
        Files.writeString(dir.resolve(WeightStore.INDEX_FILE),
                ModelConfigJson.MAPPER.writeValueAsString(CheckpointLayout.index(plan, dtype)));
    }
}
