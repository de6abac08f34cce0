package io.prefill.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.prefill.io.BoundedFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * The {@code quantization_config} of config.json, where a checkpoint published in FP8 says so.
 * Two layouts are read, both with F8_E4M3 projection weights {@code <name>.weight} and float
 * scales {@code <name>.weight_scale}, one per output channel ([out, 1]) or one per tensor:
 * <ul>
 *   <li>{@code quant_method: "compressed-tensors"} with format {@code float-quantized} (or
 *       {@code naive-quantized}) and config groups whose weights are {@code type: "float"},
 *       {@code num_bits: 8}, strategy {@code channel} or {@code tensor}, and whose input
 *       activations are absent (W8A16) or dynamic (FP8_DYNAMIC);</li>
 *   <li>{@code quant_method: "fp8"} with dynamic activations and no {@code weight_block_size}.</li>
 * </ul>
 * Everything else (block or group scales, static activation scales, integer or 4-bit formats,
 * other methods) is refused when config.json is read, naming the field and its value.
 */
public final class CheckpointQuantization {
    private CheckpointQuantization() { }

    /** The quant_method values whose FP8 layout is read. */
    public static final String SUPPORTED = "compressed-tensors (float-quantized, 8-bit float weights, channel or tensor"
            + " scales, dynamic or no activation quantisation) and fp8 (dynamic activations, no weight_block_size)";

    /** Whether config.json declares FP8 weights; false when it has no quantization_config. */
    public static boolean isFp8(Path configJson) {
        JsonNode root;
        try {
            root = ModelConfigJson.MAPPER.readTree(BoundedFiles.readString(configJson, BoundedFiles.JSON_METADATA_BYTES,
                    "config.json"));
        } catch (BoundedFiles.TooLargeException e) {
            throw new ModelFormatException(e.getMessage(), e);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(configJson + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelFormatException(configJson + ": cannot read config.json (" + e + ")", e);
        }
        return isFp8(root == null ? null : root.get("quantization_config"), configJson.toString());
    }

    /** @param source names config.json in errors */
    static boolean isFp8(JsonNode q, String source) {
        if (q == null || q.isNull()) return false;
        String where = source + ": quantization_config";
        if (!q.isObject()) throw new ModelFormatException(where + " must be an object, got " + q);
        String method = q.path("quant_method").asText("");
        switch (method) {
            case "compressed-tensors" -> checkCompressedTensors(q, where);
            case "fp8" -> checkFp8(q, where);
            default -> throw refused(where, "quant_method", q.get("quant_method"));
        }
        return true;
    }

    private static void checkFp8(JsonNode q, String where) {
        JsonNode block = q.get("weight_block_size");
        if (block != null && !block.isNull()) throw refused(where, "weight_block_size", block);
        JsonNode activations = q.get("activation_scheme");
        if (activations != null && !activations.isNull() && !"dynamic".equals(activations.asText())) {
            throw refused(where, "activation_scheme", activations);
        }
        JsonNode fmt = q.get("fmt");
        if (fmt != null && !fmt.isNull() && !"e4m3".equals(fmt.asText())) throw refused(where, "fmt", fmt);
    }

    private static void checkCompressedTensors(JsonNode q, String where) {
        JsonNode format = q.get("format");
        if (format != null && !format.isNull()
                && !"float-quantized".equals(format.asText()) && !"naive-quantized".equals(format.asText())) {
            throw refused(where, "format", format);
        }
        JsonNode sparsity = q.get("sparsity_config");
        if (sparsity != null && !sparsity.isNull() && !sparsity.isEmpty()) throw refused(where, "sparsity_config", sparsity);
        JsonNode groups = q.get("config_groups");
        if (groups == null || !groups.isObject() || groups.isEmpty()) {
            throw new ModelFormatException(where + ": missing \"config_groups\" (which weights are quantised, and how)");
        }
        Iterator<Map.Entry<String, JsonNode>> it = groups.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> g = it.next();
            String at = where + ".config_groups." + g.getKey();
            JsonNode w = g.getValue().get("weights");
            if (w == null || !w.isObject()) throw new ModelFormatException(at + ": missing \"weights\"");
            expect(w, "type", "float", at + ".weights");
            if (w.path("num_bits").asInt(-1) != 8) throw refused(at + ".weights", "num_bits", w.get("num_bits"));
            String strategy = w.path("strategy").asText("");
            if (!"channel".equals(strategy) && !"tensor".equals(strategy)) {
                throw refused(at + ".weights", "strategy", w.get("strategy"));
            }
            JsonNode block = w.get("block_structure");
            if (block != null && !block.isNull()) throw refused(at + ".weights", "block_structure", block);
            JsonNode input = g.getValue().get("input_activations");
            if (input != null && !input.isNull() && !input.path("dynamic").asBoolean(false)
                    && !"local".equals(input.path("dynamic").asText())) {
                throw refused(at + ".input_activations", "dynamic", input.get("dynamic"));
            }
            JsonNode output = g.getValue().get("output_activations");
            if (output != null && !output.isNull()) throw refused(at, "output_activations", output);
        }
    }

    private static void expect(JsonNode node, String field, String value, String where) {
        if (!value.equals(node.path(field).asText(null))) throw refused(where, field, node.get(field));
    }

    private static ModelFormatException refused(String where, String field, JsonNode value) {
        return new ModelFormatException(where + "." + field + " = " + (value == null ? "(absent)" : value)
                + " is not supported; the FP8 checkpoints read are " + SUPPORTED);
    }
}
