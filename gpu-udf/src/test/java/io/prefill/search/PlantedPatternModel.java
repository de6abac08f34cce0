package io.prefill.search;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prefill.model.Architecture;
import io.prefill.model.DType;
import io.prefill.model.LoadedModel;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeFrequencies;
import io.prefill.model.RopeScaling;
import io.prefill.model.SafetensorsWriter;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TokenizerBuilder;
import io.prefill.model.WeightStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A tiny Llama checkpoint (config.json, model.safetensors, tokenizer.json) whose heads have
 * known sparse patterns, planted in the embeddings and the q/k projections (see
 * {@link PlantedHead} and {@link PlantedTokens}), for checking that the pattern search recovers
 * them. head_dim is 64 and every head has its own KV head, so the GPU kernels can run it too.
 *
 * <p>o_proj and down_proj are zero, so the residual stream never changes and every layer reads
 * the embeddings: each layer's heads are planted independently (layer 1 reorders layer 0's).
 * Weights are BF16; the planted values (0/1 features, +-1 codes, logits of ~20-40) keep
 * their pattern through its rounding.
 */
final class PlantedPatternModel {
    static final double ROPE_THETA = 1e6;
    private static final int INTERMEDIATE = 64;
    private static final long SEED = 20240607L;

    /**
     * @param expected the planted pattern name per [layer][head]
     * @param heads    the planted heads per [layer][head]
     */
    record Planted(Path dir, List<CalibrationDocument> documents, PlantedDocument document,
                   List<List<PlantedHead>> heads, List<List<String>> expected, SearchOptions options) { }

    private PlantedPatternModel() { }

    /**
     * Layer 0: a_shape, vertical_slash, block_sparse, vertical_slash; layer 1 the same heads in
     * another order. Peak logits are 24-42, and less than 1e-3 of any row's softmax falls outside
     * the planted structure (PlantedModelSearchTest measures it). The slash uses the 22 fastest
     * pairs and the window pairs 6..25, which leaves the slowest pairs to content.
     */
    static List<List<PlantedHead>> layers() {
        PlantedHead aShape = new PlantedHead.SinkWindow(6, 26, 4, 0.4, 64);
        PlantedHead slashA = new PlantedHead.ColumnsAndSlash(PlantedTokens.COLUMN_A, PlantedDocument.COLUMNS_A,
            1500, 22, 3.5, 0.07, 0.15);
        PlantedHead blocks = new PlantedHead.TopicBlocks(24);
        PlantedHead slashB = new PlantedHead.ColumnsAndSlash(PlantedTokens.COLUMN_B, PlantedDocument.COLUMNS_B,
            2600, 22, 3.5, 0.06, 0.12);
        return List.of(List.of(aShape, slashA, blocks, slashB), List.of(blocks, slashB, aShape, slashA));
    }

    /** The model of {@link #layers()}, its calibration document and the options to search it with. */
    static Planted write(Path dir) {
        return write(dir, layers());
    }

    /** As {@link #write(Path)} with other heads, e.g. one layer of them; every layer needs the same head count. */
    static Planted write(Path dir, List<List<PlantedHead>> layers) {
        int heads = layers.get(0).size();
        int hidden = heads * PlantedHead.DIM;
        TokenizerBuilder.TrainedBpe tokenizer = TokenizerBuilder.demo();
        ModelConfig config = new TinyModelSpec(Architecture.LLAMA, hidden, INTERMEDIATE, layers.size(), heads, heads,
            PlantedHead.DIM, ROPE_THETA, RopeScaling.NONE, false, DType.BF16, 2 * PlantedDocument.LENGTH)
            .toConfig(tokenizer.vocabSize(), tokenizer.bosId(), tokenizer.eosId());
        PlantedTokens vocabulary = new PlantedTokens(config.vocabSize(), config.bosTokenId(), hidden);
        PlantedDocument document = new PlantedDocument(vocabulary, SEED);
        try {
            Files.createDirectories(dir);
            tokenizer.write(dir.resolve(LoadedModel.TOKENIZER_FILE));
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode json = (ObjectNode) mapper.readTree(config.toJson());
            json.put("torch_dtype", "bfloat16");
            Files.writeString(dir.resolve(LoadedModel.CONFIG_FILE),
                mapper.writerWithDefaultPrettyPrinter().writeValueAsString(json));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the planted model to " + dir, e);
        }
        weights(config, vocabulary, layers).write(dir.resolve(WeightStore.SINGLE_FILE));
        List<List<String>> expected = layers.stream()
            .map(row -> row.stream().map(PlantedHead::patternName).toList()).toList();
        return new Planted(dir, List.of(new CalibrationDocument("planted", document.tokens())), document, layers,
            expected, SearchOptions.defaults(0.15, 1024));
    }

    private static SafetensorsWriter weights(ModelConfig c, PlantedTokens vocabulary, List<List<PlantedHead>> layers) {
        int hidden = c.hiddenSize();
        int vocab = c.vocabSize();
        Random random = new Random(SEED);
        SafetensorsWriter w = new SafetensorsWriter();
        add(w, "model.embed_tokens.weight", vocabulary.embeddings(SEED), vocab, hidden);
        double[] invFreq = RopeFrequencies.unscaled(c.headDim(), c.ropeTheta());
        for (int l = 0; l < layers.size(); l++) {
            String p = "model.layers." + l + ".";
            float[] q = new float[c.qDim() * hidden];
            float[] k = new float[c.kvDim() * hidden];
            for (int h = 0; h < c.numHeads(); h++) {
                float[][] query = new float[hidden][PlantedHead.DIM];
                float[][] key = new float[hidden][PlantedHead.DIM];
                layers.get(l).get(h).project(query, key, invFreq);
                place(query, h, hidden, q);
                place(key, h, hidden, k);
            }
            add(w, p + "input_layernorm.weight", filled(hidden, (float) vocabulary.rms()), hidden);
            add(w, p + "self_attn.q_proj.weight", q, c.qDim(), hidden);
            add(w, p + "self_attn.k_proj.weight", k, c.kvDim(), hidden);
            add(w, p + "self_attn.v_proj.weight", values(c, vocabulary, random), c.kvDim(), hidden);
            add(w, p + "self_attn.o_proj.weight", new float[hidden * c.qDim()], hidden, c.qDim());
            add(w, p + "post_attention_layernorm.weight", filled(hidden, 1), hidden);
            add(w, p + "mlp.gate_proj.weight", gaussian(random, INTERMEDIATE * hidden, hidden), INTERMEDIATE, hidden);
            add(w, p + "mlp.up_proj.weight", gaussian(random, INTERMEDIATE * hidden, hidden), INTERMEDIATE, hidden);
            add(w, p + "mlp.down_proj.weight", new float[hidden * INTERMEDIATE], hidden, INTERMEDIATE);
        }
        add(w, "model.norm.weight", filled(hidden, 1), hidden);
        add(w, "lm_head.weight", gaussian(random, vocab * hidden, hidden), vocab, hidden);
        return w;
    }

    private static void add(SafetensorsWriter w, String name, float[] values, long... shape) {
        w.add(name, DType.BF16, shape, values);
    }

    /** Head h's vectors per feature into rows h*64.. of a [heads*64, hidden] projection. */
    private static void place(float[][] perFeature, int h, int hidden, float[] weight) {
        for (int f = 0; f < hidden; f++) {
            for (int c = 0; c < PlantedHead.DIM; c++) {
                weight[(h * PlantedHead.DIM + c) * hidden + f] = perFeature[f][c];
            }
        }
    }

    /** Random values read from the +-1 codes only, so each token id has its own unit-scale value. */
    private static float[] values(ModelConfig c, PlantedTokens vocabulary, Random random) {
        int hidden = c.hiddenSize();
        float[] v = new float[c.kvDim() * hidden];
        double std = 1 / Math.sqrt(vocabulary.noiseDims());
        for (int row = 0; row < c.kvDim(); row++) {
            for (int f = PlantedTokens.FIRST_NOISE; f < hidden; f++) {
                v[row * hidden + f] = (float) (random.nextGaussian() * std);
            }
        }
        return v;
    }

    private static float[] gaussian(Random random, int size, int fanIn) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) (random.nextGaussian() / Math.sqrt(fanIn));
        return v;
    }

    private static float[] filled(int size, float value) {
        float[] v = new float[size];
        Arrays.fill(v, value);
        return v;
    }
}
