package io.prefill.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prefill.cpu.CpuForwardPass;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FP8 weights quantised at load and read from compressed-tensors / fp8 checkpoints, on the cpu backend. */
class Fp8CheckpointTest {
    @TempDir Path dir;
    private Path stored;

    private static final int[] TOKENS = {3, 17, 42, 9, 28, 5, 11, 60, 7, 33, 21, 2};
    private static final Set<String> PROJECTIONS = Set.of("q_proj", "k_proj", "v_proj", "o_proj",
            "gate_proj", "up_proj", "down_proj");

    @BeforeEach
    void writeModel() {
        stored = dir.resolve("bf16");
        TinyModelWriter.write(stored, TinyModelSpec.demo(), 5);
    }

    private static float[] logits(LoadedModel m) {
        ModelConfig c = m.config();
        PatternConfig dense = PatternConfig.uniform("t", c.numLayers(), c.numHeads(), 0, new HeadPattern.Dense());
        return new CpuForwardPass(c, m.weights(), dense).forward(TOKENS).lastLogits();
    }

    private static boolean isProjection(String tensor) {
        return PROJECTIONS.stream().anyMatch(p -> tensor.endsWith(p + ".weight"));
    }

    @Test
    void fp8AtLoadQuantisesOnlyTheProjectionsAndMovesTheLogitsALittle() {
        try (LoadedModel bf16 = LoadedModel.open(stored); LoadedModel fp8 = LoadedModel.open(stored, WeightFormat.FP8)) {
            assertEquals("bf16", bf16.weightsLabel());
            assertEquals("fp8-e4m3", fp8.weightsLabel());
            LayerWeights l = fp8.weights().layer(1);
            for (TensorView w : new TensorView[] {l.q(), l.k(), l.v(), l.o(), l.gate(), l.up(), l.down()}) {
                assertEquals(DType.F8_E4M3, w.dtype(), w.name());
            }
            assertEquals(DType.BF16, l.inputNorm().dtype());
            assertArrayEquals(bf16.weights().embedTokens().toFloatArray(), fp8.weights().embedTokens().toFloatArray());
            assertArrayEquals(bf16.weights().lmHead().toFloatArray(), fp8.weights().lmHead().toFloatArray());

            float[] a = logits(bf16);
            float[] b = logits(fp8);
            double maxDiff = 0, spread = 0;
            for (int i = 0; i < a.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
                spread = Math.max(spread, Math.abs(a[i] - a[0]));
            }
            assertTrue(maxDiff > 0, "FP8 weights change the logits");
            // weights move by at most 2^-4 of themselves: the logits by a few per cent of their spread
            assertTrue(maxDiff < 0.1 * spread, "max |logit difference| " + maxDiff + " against a spread of " + spread);
        }
    }

    /** Rewrites the model as an FP8 checkpoint: the at-load quantisation's codes and scales, in F8_E4M3 + F32. */
    private Path writeFp8Checkpoint(String name, ObjectNode quantizationConfig, boolean perTensor) throws IOException {
        Path out = dir.resolve(name);
        Files.createDirectories(out);
        Files.copy(stored.resolve(LoadedModel.TOKENIZER_FILE), out.resolve(LoadedModel.TOKENIZER_FILE));
        ObjectNode config = (ObjectNode) ModelConfigJson.MAPPER.readTree(stored.resolve(LoadedModel.CONFIG_FILE).toFile());
        if (quantizationConfig != null) config.set("quantization_config", quantizationConfig);
        Files.writeString(out.resolve(LoadedModel.CONFIG_FILE), ModelConfigJson.MAPPER.writeValueAsString(config));
        SafetensorsWriter w = new SafetensorsWriter();
        try (WeightStore store = WeightStore.open(stored)) {
            for (String t : store.names()) {
                TensorView v = store.get(t);
                if (!isProjection(t)) {
                    w.add(t, DType.BF16, v.shape(), v.toFloatArray());
                    continue;
                }
                long[] shape = v.shape();
                int rows = (int) shape[0];
                if (perTensor) {
                    // one scale for the whole tensor, max|w| / 448
                    float[] values = v.toFloatArray();
                    float max = 0;
                    for (float x : values) max = Math.max(max, Math.abs(x));
                    float scale = max / Fp8E4M3.MAX;
                    for (int i = 0; i < values.length; i++) values[i] /= scale;
                    w.add(t, DType.F8_E4M3, shape, values);  // the writer rounds to E4M3
                    w.add(t + "_scale", DType.F32, new long[0], new float[] {scale});
                } else {
                    Fp8Weight q = Fp8Weight.quantise(v);
                    w.add(t, DType.F8_E4M3, shape, q.codes().toFloatArray());
                    float[] scales = new float[rows];
                    for (int r = 0; r < rows; r++) scales[r] = q.rowScale(r);
                    w.add(t + "_scale", DType.F32, new long[] {rows, 1}, scales);
                }
            }
        }
        w.write(out.resolve(WeightStore.SINGLE_FILE));
        return out;
    }

    private static ObjectNode compressedTensors(String strategy) {
        ObjectNode q = ModelConfigJson.MAPPER.createObjectNode();
        q.put("quant_method", "compressed-tensors");
        q.put("format", "float-quantized");
        q.putArray("ignore").add("lm_head");
        ObjectNode g = q.putObject("config_groups").putObject("group_0");
        g.putArray("targets").add("Linear");
        ObjectNode weights = g.putObject("weights");
        weights.put("num_bits", 8).put("type", "float").put("symmetric", true).put("strategy", strategy)
                .put("dynamic", false);
        weights.putNull("block_structure");
        ObjectNode input = g.putObject("input_activations");
        input.put("num_bits", 8).put("type", "float").put("strategy", "token").put("dynamic", true);
        return q;
    }

    @Test
    void aCompressedTensorsCheckpointWithPerChannelScalesEqualsTheQuantisationAtLoad() throws IOException {
        assertCheckpointEqualsQuantisationAtLoad();
    }

    @Test
    void fusedPhi3ProjectionsInFp8SplitIntoTheirRowsWithTheirScales() throws IOException {
        stored = dir.resolve("phi3");
        TinyModelWriter.write(stored, TinyModelSpec.demo().withArchitecture(Architecture.PHI3), 6);
        try (WeightStore store = WeightStore.open(stored)) {
            assertTrue(store.contains("model.layers.0.self_attn.qkv_proj.weight"), "a fused checkpoint");
        }
        assertCheckpointEqualsQuantisationAtLoad();
    }

    private void assertCheckpointEqualsQuantisationAtLoad() throws IOException {
        Path fp8Dir = writeFp8Checkpoint("ct-channel", compressedTensors("channel"), false);
        try (LoadedModel atLoad = LoadedModel.open(stored, WeightFormat.FP8); LoadedModel read = LoadedModel.open(fp8Dir)) {
            assertEquals("fp8-e4m3", read.weightsLabel());
            for (int i = 0; i < read.config().numLayers(); i++) {
                LayerWeights a = atLoad.weights().layer(i);
                LayerWeights b = read.weights().layer(i);
                assertArrayEquals(a.q().toFloatArray(), b.q().toFloatArray(), "layer " + i + " q");
                assertArrayEquals(a.down().toFloatArray(), b.down().toFloatArray(), "layer " + i + " down");
                assertArrayEquals(a.gate().toFloatArray(), b.gate().toFloatArray(), "layer " + i + " gate");
            }
            assertArrayEquals(logits(atLoad), logits(read));
            // asking for FP8 again keeps the checkpoint's codes and scales
            try (LoadedModel again = LoadedModel.open(fp8Dir, WeightFormat.FP8)) {
                assertArrayEquals(logits(read), logits(again));
            }
        }
    }

    @Test
    void perTensorScalesApplyToEveryRow() throws IOException {
        ObjectNode q = ModelConfigJson.MAPPER.createObjectNode();
        q.put("quant_method", "fp8").put("activation_scheme", "dynamic");
        Path fp8Dir = writeFp8Checkpoint("fp8-tensor", q, true);
        try (LoadedModel bf16 = LoadedModel.open(stored); LoadedModel read = LoadedModel.open(fp8Dir);
             WeightStore store = WeightStore.open(fp8Dir)) {
            String name = "model.layers.0.mlp.up_proj.weight";
            float scale = store.get(name + "_scale").get(0);
            TensorView codes = store.get(name);
            TensorView up = read.weights().layer(0).up();
            for (long i = 0; i < up.numel(); i += 37) assertEquals(codes.get(i) * scale, up.get(i), 0f, "element " + i);
            float[] a = logits(bf16);
            float[] b = logits(read);
            double maxDiff = 0;
            for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            assertTrue(maxDiff > 0 && maxDiff < 1, "per-tensor FP8 logits differ by " + maxDiff);
        }
    }

    @Test
    void fp8TensorsWithoutAQuantizationConfigAreRefusedNamingTheTensor() throws IOException {
        Path fp8Dir = writeFp8Checkpoint("no-config", null, false);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(fp8Dir));
        assertTrue(e.getMessage().contains("F8_E4M3") && e.getMessage().contains("quantization_config")
                && e.getMessage().contains("model.safetensors"), e.getMessage());
    }

    private void assertRefused(ObjectNode q, String field) throws IOException {
        Path config = dir.resolve("config-" + field + ".json");
        ObjectNode root = ModelConfigJson.MAPPER.createObjectNode();
        root.set("quantization_config", q);
        Files.writeString(config, ModelConfigJson.MAPPER.writeValueAsString(root));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CheckpointQuantization.isFp8(config));
        assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains(field), e.getMessage());
    }

    @Test
    void otherQuantisationsAreRefusedNamingConfigJsonAndTheField() throws IOException {
        ObjectNode blockFp8 = ModelConfigJson.MAPPER.createObjectNode();
        blockFp8.put("quant_method", "fp8").put("activation_scheme", "dynamic");
        blockFp8.putArray("weight_block_size").add(128).add(128);
        assertRefused(blockFp8, "weight_block_size");

        ObjectNode staticFp8 = ModelConfigJson.MAPPER.createObjectNode();
        staticFp8.put("quant_method", "fp8").put("activation_scheme", "static");
        assertRefused(staticFp8, "activation_scheme");

        ObjectNode gptq = ModelConfigJson.MAPPER.createObjectNode();
        gptq.put("quant_method", "gptq").put("bits", 4);
        assertRefused(gptq, "quant_method");

        assertRefused(compressedTensors("block"), "strategy");
        assertRefused(compressedTensors("group"), "strategy");

        ObjectNode staticInput = compressedTensors("channel");
        ((ObjectNode) staticInput.get("config_groups").get("group_0").get("input_activations")).put("dynamic", false);
        assertRefused(staticInput, "dynamic");

        ObjectNode int8 = compressedTensors("channel");
        ((ObjectNode) int8.get("config_groups").get("group_0").get("weights")).put("type", "int");
        assertRefused(int8, "type");

        ObjectNode nvfp4 = compressedTensors("channel");
        nvfp4.put("format", "nvfp4-pack-quantized");
        assertRefused(nvfp4, "format");
    }

    @Test
    void aMissingOrBlockShapedScaleIsRefusedNamingIt() throws IOException {
        Path fp8Dir = writeFp8Checkpoint("bad-scale", compressedTensors("channel"), false);
        String name = "model.layers.1.self_attn.k_proj.weight";
        SafetensorsWriter w = new SafetensorsWriter();
        try (WeightStore store = WeightStore.open(fp8Dir)) {
            for (String t : store.names()) {
                TensorView v = store.get(t);
                if (t.equals(name + "_scale")) w.add(t, DType.F32, new long[] {1, v.numel()}, v.toFloatArray());
                else w.add(t, t.endsWith("_scale") ? DType.F32 : isProjection(t) ? DType.F8_E4M3 : DType.BF16,
                        v.shape(), v.toFloatArray());
            }
        }
        w.write(fp8Dir.resolve(WeightStore.SINGLE_FILE));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(fp8Dir));
        assertTrue(e.getMessage().contains(name + "_scale") && e.getMessage().contains("per-channel"), e.getMessage());
    }
}
