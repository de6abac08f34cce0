package io.prefill.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prefill.testing.PublishedConfigs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Phi-3 and GLM-4: their published configs, longrope and partial rotary rules, and their fused checkpoints. */
class ModelFamiliesConfigTest {
    @TempDir Path dir;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void phi3Mini128kLoadsWithLongrope() throws IOException {
        Path file = PublishedConfigs.file(PublishedConfigs.PHI3_MINI_128K);
        ModelConfig c = ModelConfig.read(file);
        JsonNode json = JSON.readTree(file.toFile());
        assertEquals(Architecture.PHI3, c.architecture());
        assertEquals(3072, c.hiddenSize());
        assertEquals(8192, c.intermediateSize());
        assertEquals(32, c.numLayers());
        assertEquals(32, c.numHeads());
        assertEquals(32, c.numKvHeads());
        assertEquals(96, c.headDim(), "hidden_size / num_attention_heads");
        assertEquals(96, c.rotaryDim(), "the whole head rotates");
        assertEquals(RotaryPairing.ROTATE_HALF, c.rotaryPairing());
        assertEquals(32064, c.vocabSize());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertFalse(c.qkvBias());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(1, c.bosTokenId());
        assertEquals(32000, c.eosTokenId());
        RopeScaling s = c.ropeScaling();
        assertEquals(RopeScaling.Type.LONGROPE, s.type());
        assertEquals(4096, s.originalMaxPositionEmbeddings(), "read from the top level of config.json");
        assertEquals(32.0, s.factor(), "131072 / 4096 when rope_scaling gives no factor");
        assertEquals(numbers(json.get("rope_scaling").get("short_factor")), s.shortFactor());
        assertEquals(numbers(json.get("rope_scaling").get("long_factor")), s.longFactor());
        assertEquals(48, s.longFactor().size());
        // cos and sin are scaled by sqrt(1 + ln(factor) / ln(original context)) = sqrt(1 + ln 32 / ln 4096)
        assertEquals(Math.sqrt(1 + 5.0 / 12.0), RopeFrequencies.attentionScaling(c), 1e-12);
    }

    @Test
    void longropeUsesTheShortFactorsUpToTheOriginalContextAndTheLongOnesBeyond() {
        ModelConfig c = PublishedConfigs.read(PublishedConfigs.PHI3_MINI_128K);
        List<Double> shortF = c.ropeScaling().shortFactor(), longF = c.ropeScaling().longFactor();
        for (int n : new int[] {1, 2000, 4096}) assertArrayEquals(expected(c, shortF), RopeFrequencies.inverseFrequencies(c, n), 1e-15);
        for (int n : new int[] {4097, 131072}) assertArrayEquals(expected(c, longF), RopeFrequencies.inverseFrequencies(c, n), 1e-15);
    }

    /** theta^(-2i/d) / factor_i, d = 96 rotary dimensions. */
    private static double[] expected(ModelConfig c, List<Double> factors) {
        double[] inv = new double[48];
        for (int i = 0; i < 48; i++) inv[i] = Math.pow(c.ropeTheta(), -2.0 * i / 96) / factors.get(i);
        return inv;
    }

    @Test
    void longropeTakesAGivenAttentionFactorAndFactor() throws IOException {
        ObjectNode json = phi3Json();
        ((ObjectNode) json.get("rope_scaling")).put("attention_factor", 1.5).put("factor", 8.0);
        ModelConfig c = ModelConfig.read(write(json));
        assertEquals(1.5, RopeFrequencies.attentionScaling(c));
        assertEquals(8.0, c.ropeScaling().factor());
        ((ObjectNode) json.get("rope_scaling")).remove("attention_factor");
        assertEquals(Math.sqrt(1 + Math.log(8) / Math.log(4096)), RopeFrequencies.attentionScaling(ModelConfig.read(write(json))), 1e-12);
    }

    @Test
    void longropeConfigErrorsNameTheFileAndTheKey() throws IOException {
        ObjectNode noOriginal = phi3Json();
        noOriginal.remove("original_max_position_embeddings");
        assertFails(noOriginal, "original_max_position_embeddings");
        ObjectNode shortList = phi3Json();
        ((ObjectNode) shortList.get("rope_scaling")).putArray("short_factor").add(1.0).add(2.0);
        assertFails(shortList, "short_factor has 2 entries, expected 48");
        ObjectNode noLong = phi3Json();
        ((ObjectNode) noLong.get("rope_scaling")).remove("long_factor");
        assertFails(noLong, "missing \"long_factor\"");
        ObjectNode negative = phi3Json();
        ((ArrayNode) negative.get("rope_scaling").get("long_factor")).set(3, JSON.getNodeFactory().numberNode(-1.0));
        assertFails(negative, "long_factor[3] must be positive");
    }

    @Test
    void phi3WithASlidingWindowShorterThanItsContextIsRefused() throws IOException {
        ObjectNode json = phi3Json();
        json.put("sliding_window", 2047);  // Phi-3-mini-4k's window, under its 4096 positions
        json.put("max_position_embeddings", 4096);
        json.remove("rope_scaling");
        assertFails(json, "sliding_window 2047");
    }

    @Test
    void glm4Chat1mLoadsWithHalfInterleavedRotaryAndBias() {
        ModelConfig c = PublishedConfigs.read(PublishedConfigs.GLM4_9B_CHAT_1M);
        assertEquals(Architecture.GLM, c.architecture());
        assertEquals(4096, c.hiddenSize());
        assertEquals(13696, c.intermediateSize());
        assertEquals(40, c.numLayers());
        assertEquals(32, c.numHeads());
        assertEquals(4, c.numKvHeads());
        assertEquals(128, c.headDim());
        assertEquals(64, c.rotaryDim());
        assertEquals(RotaryPairing.INTERLEAVED, c.rotaryPairing());
        assertTrue(c.qkvBias());
        assertEquals(1e8, c.ropeTheta());
        assertEquals(1.5625e-7, c.rmsNormEps());
        assertEquals(1048576, c.maxPositionEmbeddings());
        assertEquals(151552, c.vocabSize());
        assertEquals(151329, c.eosTokenId(), "the first of the eos list");
        assertEquals(RopeScaling.NONE, c.ropeScaling());
        double[] inv = RopeFrequencies.inverseFrequencies(c, 1000);
        assertEquals(32, inv.length, "one frequency per rotated pair");
        for (int i = 0; i < 32; i++) assertEquals(Math.pow(1e8, -2.0 * i / 64), inv[i], 1e-15 * (1 + inv[i]));
        assertEquals(1.0, RopeFrequencies.attentionScaling(c));
    }

    @Test
    void glmDefaultsToHalfRotaryAndBiasWhereConfigJsonIsSilent() throws IOException {
        ObjectNode json = (ObjectNode) JSON.readTree(PublishedConfigs.file(PublishedConfigs.GLM4_9B_CHAT_1M).toFile());
        json.remove("partial_rotary_factor");
        json.remove("attention_bias");
        ModelConfig c = ModelConfig.read(write(json));
        assertEquals(0.5, c.partialRotaryFactor());
        assertTrue(c.qkvBias());
        json.put("partial_rotary_factor", 0.0);
        assertFails(json, "partial_rotary_factor must be in (0, 1]");
        json.remove("partial_rotary_factor");
        json.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 5e6).put("partial_rotary_factor", 0.25);
        json.remove("rope_theta");
        ModelConfig v5 = ModelConfig.read(write(json));
        assertEquals(32, v5.rotaryDim(), "transformers 5 keeps partial_rotary_factor in rope_parameters");
        assertEquals(5e6, v5.ropeTheta());
    }

    @Test
    void tinyPhi3AndGlmConfigsRoundTripThroughConfigJson() {
        List<Double> shortF = List.of(1.0, 1.5, 2.0, 2.5), longF = List.of(3.0, 5.0, 7.0, 9.0);
        ModelConfig phi3 = new ModelConfig(Architecture.PHI3, 300, 64, 96, 2, 4, 2, 8, 1e-5, 10000.0,
                RopeScaling.longrope(shortF, longF, 64.0, 0, 32), 1.0, 2048, false, false, 1, 2);
        ModelConfig glm = new ModelConfig(Architecture.GLM, 300, 64, 96, 2, 4, 2, 16, 1e-5, 10000.0,
                RopeScaling.NONE, 0.5, 2048, false, true, 1, 2);
        for (ModelConfig c : new ModelConfig[] {phi3, glm}) {
            assertEquals(c, ModelConfig.fromJson(c.toJson(), "round trip"), c.architecture().toString());
        }
    }

    /** The loader's split of Phi-3's fused tensors: q, k, v rows of qkv_proj and gate, up rows of gate_up_proj, bytes and values. */
    @Test
    void fusedTensorsAreSplitIntoTheirRowsInOrder() {
        TinyModelSpec spec = TinyModelSpec.demo().withArchitecture(Architecture.PHI3).withDtype(DType.BF16);
        TinyModelWriter.write(dir.resolve("phi3"), spec, 5);
        try (LoadedModel m = LoadedModel.open(dir.resolve("phi3"))) {
            ModelConfig c = m.config();
            TensorView qkv = m.weightStore().get("model.layers.1.self_attn.qkv_proj.weight");
            TensorView gateUp = m.weightStore().get("model.layers.1.mlp.gate_up_proj.weight");
            LayerWeights w = m.weights().layer(1);
            assertRows(qkv, 0, w.q());
            assertRows(qkv, c.qDim(), w.k());
            assertRows(qkv, c.qDim() + c.kvDim(), w.v());
            assertRows(gateUp, 0, w.gate());
            assertRows(gateUp, c.intermediateSize(), w.up());
            assertEquals(null, w.qBias());
            assertFalse(m.weightStore().contains("model.layers.1.self_attn.q_proj.weight"));
        }
    }

    private static void assertRows(TensorView whole, long firstRow, TensorView part) {
        long cols = whole.shape()[1];
        long rows = part.shape()[0];
        assertEquals(cols, part.shape()[1]);
        float[] row = new float[(int) cols];
        for (int r = 0; r < rows; r++) {
            part.readRow(r, row);
            for (int col = 0; col < cols; col++) {
                float want = whole.get((firstRow + r) * cols + col);
                assertEquals(want, row[col], part.name() + " row " + r);
                assertEquals(want, part.get(r * cols + col), part.name() + " element");
            }
        }
        // the raw bytes the cuda upload reads: exactly the part's rows of the whole tensor
        ByteBuffer all = concat(whole.rawChunks());
        ByteBuffer mine = concat(part.rawChunks());
        int bytes = whole.dtype().bytes();
        assertEquals(rows * cols * bytes, mine.remaining());
        for (int i = 0; i < mine.remaining(); i++) {
            assertEquals(all.get((int) (firstRow * cols * bytes) + i), mine.get(i), part.name() + " byte " + i);
        }
    }

    private static ByteBuffer concat(ByteBuffer[] chunks) {
        int total = 0;
        for (ByteBuffer b : chunks) total += b.remaining();
        ByteBuffer out = ByteBuffer.allocate(total);
        for (ByteBuffer b : chunks) out.put(b.duplicate());
        return out.flip();
    }

    @Test
    void aFusedTensorOfTheWrongShapeNamesItAndTheExpectedRows() throws IOException {
        TinyModelSpec spec = TinyModelSpec.demo().withArchitecture(Architecture.PHI3).withDtype(DType.F32);
        Path model = dir.resolve("bad");
        TinyModelWriter.write(model, spec, 6);
        // claim one KV head fewer: the checkpoint's qkv_proj then has 16 rows more than config.json implies
        ObjectNode json = (ObjectNode) JSON.readTree(model.resolve("config.json").toFile());
        json.put("num_key_value_heads", 1);
        Files.writeString(model.resolve("config.json"), JSON.writeValueAsString(json));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(model).close());
        assertTrue(e.getMessage().contains("qkv_proj.weight") && e.getMessage().contains("[96, 64]"), e.getMessage());
    }

    private ObjectNode phi3Json() throws IOException {
        return (ObjectNode) JSON.readTree(PublishedConfigs.file(PublishedConfigs.PHI3_MINI_128K).toFile());
    }

    private Path write(JsonNode json) throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, JSON.writeValueAsString(json));
        return f;
    }

    private void assertFails(JsonNode json, String expected) throws IOException {
        Path f = write(json);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static List<Double> numbers(JsonNode array) {
        List<Double> out = new ArrayList<>();
        array.forEach(v -> out.add(v.asDouble()));
        return out;
    }
}
