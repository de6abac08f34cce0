package io.prefill.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.prefill.io.BoundedFiles;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads and writes config.json in the Hugging Face layout for {@link ModelConfig}. */
final class ModelConfigJson {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Default of the transformers config classes, used when the key is absent. */
    private static final double DEFAULT_ROPE_THETA = 10000.0;

    private ModelConfigJson() { }

    static ModelConfig read(Path file) {
        String text;
        try {
            text = BoundedFiles.readString(file, BoundedFiles.JSON_METADATA_BYTES, "config.json");
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file + ": config.json not found");
        } catch (BoundedFiles.TooLargeException e) {
            throw new ModelFormatException(e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": cannot read config.json (" + e + ")", e);
        }
        return parse(text, file.toString());
    }

    static ModelConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(source + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(source + ": expected a JSON object");
        }
        Fields f = new Fields(root, source);
        Architecture arch = architecture(root, source);
        rejectUnsupportedFeatures(root, arch, source);

        int hidden = f.requiredInt("hidden_size");
        int heads = f.requiredInt("num_attention_heads");
        int kvHeads = f.optionalInt("num_key_value_heads", heads);
        int headDim;
        if (root.hasNonNull("head_dim")) {
            headDim = f.requiredInt("head_dim");
        } else {
            if (heads <= 0 || hidden % heads != 0) {
                throw new ModelFormatException(source + ": hidden_size " + hidden
                        + " is not divisible by num_attention_heads " + heads + " and head_dim is not given");
            }
            headDim = hidden / heads;
        }
        // rope_parameters is the transformers 5 home of rope_theta and the scaling block.
        JsonNode ropeParameters = root.get("rope_parameters");
        double ropeTheta = ropeParameters != null && ropeParameters.hasNonNull("rope_theta")
                ? new Fields(ropeParameters, source + " rope_parameters").optionalDouble("rope_theta", DEFAULT_ROPE_THETA)
                : f.optionalDouble("rope_theta", DEFAULT_ROPE_THETA);
        double partialRotary = root.hasNonNull("partial_rotary_factor") || ropeParameters == null
                ? f.optionalDouble("partial_rotary_factor", arch.defaultPartialRotaryFactor())
                : new Fields(ropeParameters, source + " rope_parameters")
                        .optionalDouble("partial_rotary_factor", arch.defaultPartialRotaryFactor());
        int maxPositions = f.optionalInt("max_position_embeddings", arch.defaultMaxPositions());
        JsonNode scalingNode = root.hasNonNull("rope_scaling") ? root.get("rope_scaling") : ropeParameters;
        RopeScaling scaling = ropeScaling(scalingNode, f, maxPositions, source);

        boolean qkvBias = arch == Architecture.QWEN2 || f.optionalBoolean("attention_bias", arch.defaultQkvBias());
        ModelConfig config = new ModelConfig(arch,
                f.requiredInt("vocab_size"), hidden, f.requiredInt("intermediate_size"),
                f.requiredInt("num_hidden_layers"), heads, kvHeads, headDim,
                f.optionalDouble("rms_norm_eps", arch.defaultRmsNormEps()), ropeTheta, scaling, partialRotary,
                maxPositions, f.optionalBoolean("tie_word_embeddings", false), qkvBias,
                f.tokenId("bos_token_id"), f.tokenId("eos_token_id"));
        validate(config, source);
        return config;
    }

    private static Architecture architecture(JsonNode root, String source) {
        JsonNode archs = root.get("architectures");
        if (archs == null || !archs.isArray() || archs.isEmpty() || !archs.get(0).isTextual()) {
            throw new ModelFormatException(source + ": \"architectures\" must be a non-empty list of names (supported: "
                    + Architecture.supportedNames() + ")");
        }
        String name = archs.get(0).asText();
        return Architecture.fromHfName(name).orElseThrow(() -> new ModelFormatException(
                source + ": unsupported architecture \"" + name + "\" (supported: " + Architecture.supportedNames() + ")"));
    }

    /** Options that change the forward pass in ways this engine does not implement: refuse rather than compute wrongly. */
    private static void rejectUnsupportedFeatures(JsonNode root, Architecture arch, String source) {
        JsonNode act = root.get("hidden_act");
        if (act != null && !act.isNull() && !"silu".equals(act.asText())) {
            throw new ModelFormatException(source + ": unsupported hidden_act \"" + act.asText() + "\" (only silu)");
        }
        if (root.path("mlp_bias").asBoolean(false)) {
            throw new ModelFormatException(source + ": unsupported mlp_bias=true (MLP projections must have no bias)");
        }
        // transformers' Phi-3 masks keys beyond its sliding window; a window shorter than the context would
        // change the attention of long prompts, which this engine computes over all earlier tokens.
        JsonNode window = root.get("sliding_window");
        if (arch == Architecture.PHI3 && window != null && !window.isNull()) {
            int maxPositions = root.path("max_position_embeddings").asInt(arch.defaultMaxPositions());
            if (!window.canConvertToInt() || window.asInt() < maxPositions) {
                throw new ModelFormatException(source + ": unsupported sliding_window " + window
                        + " (sliding-window attention is not implemented; a window of at least max_position_embeddings "
                        + maxPositions + " tokens, or none, is required)");
            }
        }
    }

    private static RopeScaling ropeScaling(JsonNode node, Fields top, int maxPositions, String source) {
        if (node == null || node.isNull()) return RopeScaling.NONE;
        String where = source + " rope_scaling";
        if (!node.isObject()) throw new ModelFormatException(where + ": expected an object, got " + node);
        JsonNode typeNode = node.hasNonNull("rope_type") ? node.get("rope_type") : node.get("type");
        if (typeNode == null || typeNode.isNull()) {
            throw new ModelFormatException(where + ": missing \"rope_type\" (or \"type\")");
        }
        String typeName = typeNode.asText();
        RopeScaling.Type type = RopeScaling.Type.fromHfName(typeName).orElseThrow(() -> new ModelFormatException(
                where + ": unsupported rope type \"" + typeName + "\" (supported: default, linear, dynamic, llama3, longrope)"));
        Fields f = new Fields(node, where);
        return switch (type) {
            case NONE -> RopeScaling.NONE;
            case LINEAR -> RopeScaling.linear(f.requiredDouble("factor"));
            case DYNAMIC -> RopeScaling.dynamic(f.requiredDouble("factor"),
                    f.optionalInt("original_max_position_embeddings", 0));
            case LLAMA3 -> RopeScaling.llama3(f.requiredDouble("factor"), f.requiredDouble("low_freq_factor"),
                    f.requiredDouble("high_freq_factor"), f.requiredInt("original_max_position_embeddings"));
            case LONGROPE -> longrope(f, top, maxPositions, where);
        };
    }

    /**
     * Phi-3 keeps original_max_position_embeddings at the top level of config.json, transformers 5
     * inside the rope block; either is read. Without "factor", transformers takes the ratio of the
     * extended to the original context.
     */
    private static RopeScaling longrope(Fields f, Fields top, int maxPositions, String where) {
        int original = f.optionalInt("original_max_position_embeddings", top.optionalInt("original_max_position_embeddings", 0));
        if (original <= 0) {
            throw new ModelFormatException(where + ": longrope needs a positive original_max_position_embeddings "
                    + "(in rope_scaling or at the top level of config.json)");
        }
        double factor = f.optionalDouble("factor", (double) maxPositions / original);
        return RopeScaling.longrope(f.requiredNumbers("short_factor"), f.requiredNumbers("long_factor"), factor,
                f.optionalDouble("attention_factor", 0), original);
    }

    static void validate(ModelConfig c, String source) {
        positive(source, "vocab_size", c.vocabSize());
        positive(source, "hidden_size", c.hiddenSize());
        positive(source, "intermediate_size", c.intermediateSize());
        positive(source, "num_hidden_layers", c.numLayers());
        positive(source, "num_attention_heads", c.numHeads());
        positive(source, "num_key_value_heads", c.numKvHeads());
        positive(source, "head_dim", c.headDim());
        positive(source, "max_position_embeddings", c.maxPositionEmbeddings());
        if (c.architecture() == null) throw new ModelFormatException(source + ": architecture is missing");
        // widths the engine allocates and indexes in int: computed here in long so none wraps around
        fitsAnInt(source, "num_attention_heads * head_dim", c.numHeads(), c.headDim());
        fitsAnInt(source, "num_key_value_heads * head_dim", c.numKvHeads(), c.headDim());
        if (c.numHeads() % c.numKvHeads() != 0) {
            throw new ModelFormatException(source + ": num_attention_heads " + c.numHeads()
                    + " is not a multiple of num_key_value_heads " + c.numKvHeads());
        }
        if (c.headDim() % 2 != 0) {
            throw new ModelFormatException(source + ": head_dim " + c.headDim() + " must be even for rotary embeddings");
        }
        if (!(c.partialRotaryFactor() > 0 && c.partialRotaryFactor() <= 1)) {
            throw new ModelFormatException(source + ": partial_rotary_factor must be in (0, 1], got " + c.partialRotaryFactor());
        }
        if (c.rotaryDim() < 2 || c.rotaryDim() % 2 != 0) {
            throw new ModelFormatException(source + ": head_dim " + c.headDim() + " * partial_rotary_factor "
                    + c.partialRotaryFactor() + " gives " + c.rotaryDim() + " rotary dimensions, which must be even and at least 2");
        }
        if (!(c.rmsNormEps() > 0) || !Double.isFinite(c.rmsNormEps())) {
            throw new ModelFormatException(source + ": rms_norm_eps must be positive, got " + c.rmsNormEps());
        }
        if (!(c.ropeTheta() > 0) || !Double.isFinite(c.ropeTheta())) {
            throw new ModelFormatException(source + ": rope_theta must be positive, got " + c.ropeTheta());
        }
        if (c.architecture() == Architecture.QWEN2 && !c.qkvBias()) {
            throw new ModelFormatException(source + ": Qwen2ForCausalLM always has q/k/v bias");
        }
        validateTokenId(source, "bos_token_id", c.bosTokenId(), c.vocabSize());
        validateTokenId(source, "eos_token_id", c.eosTokenId(), c.vocabSize());
        validateScaling(source, c);
    }

    private static void validateScaling(String source, ModelConfig c) {
        String where = source + " rope_scaling";
        RopeScaling s = c.ropeScaling();
        if (s == null) throw new ModelFormatException(source + ": rope scaling is null (use RopeScaling.NONE)");
        if (s.type() == RopeScaling.Type.NONE) return;
        if (!(s.factor() >= 1) || !Double.isFinite(s.factor())) {
            throw new ModelFormatException(where + ": factor must be >= 1, got " + s.factor());
        }
        if (s.originalMaxPositionEmbeddings() < 0) {
            throw new ModelFormatException(where + ": original_max_position_embeddings must not be negative");
        }
        if (s.type() == RopeScaling.Type.LLAMA3) {
            if (s.originalMaxPositionEmbeddings() <= 0) {
                throw new ModelFormatException(where + ": llama3 needs a positive original_max_position_embeddings");
            }
            if (!(s.lowFreqFactor() > 0) || !(s.highFreqFactor() > s.lowFreqFactor())) {
                throw new ModelFormatException(where + ": llama3 needs 0 < low_freq_factor < high_freq_factor, got "
                        + s.lowFreqFactor() + " and " + s.highFreqFactor());
            }
        }
        if (s.type() == RopeScaling.Type.LONGROPE) {
            if (s.originalMaxPositionEmbeddings() <= 0) {
                throw new ModelFormatException(where + ": longrope needs a positive original_max_position_embeddings");
            }
            int pairs = c.rotaryDim() / 2;
            perPairFactors(where, "short_factor", s.shortFactor(), pairs);
            perPairFactors(where, "long_factor", s.longFactor(), pairs);
            if (!(s.attentionFactor() >= 0) || !Double.isFinite(s.attentionFactor())) {
                throw new ModelFormatException(where + ": attention_factor must be positive, got " + s.attentionFactor());
            }
        }
    }

    /** One positive divisor per rotary pair (head_dim * partial_rotary_factor / 2 of them). */
    private static void perPairFactors(String where, String key, List<Double> factors, int pairs) {
        if (factors.size() != pairs) {
            throw new ModelFormatException(where + ": " + key + " has " + factors.size() + " entries, expected " + pairs
                    + " (one per rotary pair: head_dim * partial_rotary_factor / 2)");
        }
        for (int i = 0; i < factors.size(); i++) {
            double v = factors.get(i);
            if (!(v > 0) || !Double.isFinite(v)) {
                throw new ModelFormatException(where + ": " + key + "[" + i + "] must be positive, got " + v);
            }
        }
    }

    private static void fitsAnInt(String source, String product, int a, int b) {
        long value = (long) a * b;
        if (value > Integer.MAX_VALUE) {
            throw new ModelFormatException(source + ": " + product + " = " + a + " * " + b + " = " + value
                    + " is beyond the largest supported width (" + Integer.MAX_VALUE + ")");
        }
    }

    private static void positive(String source, String field, int value) {
        if (value <= 0) throw new ModelFormatException(source + ": " + field + " must be positive, got " + value);
    }

    private static void validateTokenId(String source, String field, int id, int vocab) {
        if (id < -1 || id >= vocab) {
            throw new ModelFormatException(source + ": " + field + " " + id + " is outside the vocabulary [0, " + vocab + ")");
        }
    }

    static String write(ModelConfig c) {
        try {
            return MAPPER.writeValueAsString(toTree(c));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise config", e);
        }
    }

    static ObjectNode toTree(ModelConfig c) {
        validate(c, "ModelConfig");
        ObjectNode o = MAPPER.createObjectNode();
        o.putArray("architectures").add(c.architecture().hfName());
        o.put("model_type", c.architecture().modelType());
        o.put("vocab_size", c.vocabSize());
        o.put("hidden_size", c.hiddenSize());
        o.put("intermediate_size", c.intermediateSize());
        o.put("num_hidden_layers", c.numLayers());
        o.put("num_attention_heads", c.numHeads());
        o.put("num_key_value_heads", c.numKvHeads());
        o.put("head_dim", c.headDim());
        o.put("hidden_act", "silu");
        o.put("rms_norm_eps", c.rmsNormEps());
        o.put("rope_theta", c.ropeTheta());
        if (c.partialRotaryFactor() != 1.0 || c.architecture().defaultPartialRotaryFactor() != 1.0) {
            o.put("partial_rotary_factor", c.partialRotaryFactor());
        }
        RopeScaling s = c.ropeScaling();
        if (s.type() == RopeScaling.Type.NONE) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode r = o.putObject("rope_scaling");
            r.put("rope_type", s.type().hfName());
            r.put("factor", s.factor());
            if (s.type() == RopeScaling.Type.LLAMA3) {
                r.put("low_freq_factor", s.lowFreqFactor());
                r.put("high_freq_factor", s.highFreqFactor());
            }
            if (s.type() == RopeScaling.Type.LONGROPE) {
                s.shortFactor().forEach(r.putArray("short_factor")::add);
                s.longFactor().forEach(r.putArray("long_factor")::add);
                if (s.attentionFactor() > 0) r.put("attention_factor", s.attentionFactor());
                // where Phi-3's config class reads it
                o.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
            }
            if (s.originalMaxPositionEmbeddings() > 0) {
                r.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
            }
        }
        o.put("max_position_embeddings", c.maxPositionEmbeddings());
        o.put("tie_word_embeddings", c.tieWordEmbeddings());
        if (c.architecture() != Architecture.QWEN2) o.put("attention_bias", c.qkvBias());
        if (c.bosTokenId() >= 0) o.put("bos_token_id", c.bosTokenId()); else o.putNull("bos_token_id");
        if (c.eosTokenId() >= 0) o.put("eos_token_id", c.eosTokenId()); else o.putNull("eos_token_id");
        return o;
    }

    /** Typed access to the keys of one JSON object; errors name the source and the key. */
    private record Fields(JsonNode node, String source) {

        int requiredInt(String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) throw new ModelFormatException(source + ": missing \"" + key + "\"");
            return toInt(key, v);
        }

        int optionalInt(String key, int fallback) {
            JsonNode v = node.get(key);
            return v == null || v.isNull() ? fallback : toInt(key, v);
        }

        double requiredDouble(String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) throw new ModelFormatException(source + ": missing \"" + key + "\"");
            return toDouble(key, v);
        }

        double optionalDouble(String key, double fallback) {
            JsonNode v = node.get(key);
            return v == null || v.isNull() ? fallback : toDouble(key, v);
        }

        /** A non-empty JSON list of numbers. */
        List<Double> requiredNumbers(String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) throw new ModelFormatException(source + ": missing \"" + key + "\"");
            if (!v.isArray() || v.isEmpty()) {
                throw new ModelFormatException(source + ": \"" + key + "\" must be a non-empty list of numbers, got " + v);
            }
            List<Double> out = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) out.add(toDouble(key + "[" + i + "]", v.get(i)));
            return out;
        }

        boolean optionalBoolean(String key, boolean fallback) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return fallback;
            if (!v.isBoolean()) throw new ModelFormatException(source + ": \"" + key + "\" must be true or false, got " + v);
            return v.booleanValue();
        }

        /** A token id that may be missing (-1), null (-1) or a list (its first element). */
        int tokenId(String key) {
            JsonNode v = node.get(key);
            if (v != null && v.isArray()) v = v.isEmpty() ? null : v.get(0);
            return v == null || v.isNull() ? -1 : toInt(key, v);
        }

        private int toInt(String key, JsonNode v) {
            if (v.isNumber() && v.canConvertToInt() && v.asDouble() == Math.rint(v.asDouble())) return v.asInt();
            throw new ModelFormatException(source + ": \"" + key + "\" must be an integer, got " + v);
        }

        private double toDouble(String key, JsonNode v) {
            if (v.isNumber()) return v.asDouble();
            throw new ModelFormatException(source + ": \"" + key + "\" must be a number, got " + v);
        }
    }
}
