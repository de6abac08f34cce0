package io.prefill.sparse;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Our schema, "prefill-patterns/1" (pattern-configs/README.md): reading and writing. */
final class PrefillPatternFormat {
    static final String FORMAT = "prefill-patterns/1";

    static final String DENSE = "dense";
    static final String A_SHAPE = "a_shape";
    static final String VERTICAL_SLASH = "vertical_slash";
    static final String BLOCK_SPARSE = "block_sparse";
    static final String ADAPTIVE = "adaptive";

    private static final List<String> TOP_LEVEL_FIELDS = List.of(
        "format", "model", "comment", "num_layers", "num_heads", "min_sparse_length", "default", "layers");

    private PrefillPatternFormat() { }

    static PatternConfig read(JsonNode root, ConfigLocation file) {
        checkFields(root, TOP_LEVEL_FIELDS, file);
        String format = requiredText(root, "format", file);
        if (!format.equals(FORMAT)) {
            throw file.error("unsupported format \"" + format + "\" (this version reads \"" + FORMAT + "\")");
        }
        String model = requiredText(root, "model", file);
        int layers = requiredInt(root, "num_layers", 1, file);
        int heads = requiredInt(root, "num_heads", 1, file);
        int minSparse = root.has("min_sparse_length")
            ? requiredInt(root, "min_sparse_length", 0, file) : PatternConfig.DEFAULT_MIN_SPARSE_LENGTH;
        HeadPattern fallback = root.has("default")
            ? readPattern(root.get("default"), file.field("default")) : PatternConfig.MINFERENCE_DEFAULT;

        JsonNode layerList = root.get("layers");
        if (layerList == null) throw file.error("missing field \"layers\"");
        if (!layerList.isArray()) throw file.error("\"layers\" must be a list with one object per layer");
        if (layerList.size() != layers) {
            throw file.error("\"layers\" has " + layerList.size() + " entries but num_layers is " + layers);
        }
        List<List<HeadPattern>> rows = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            ConfigLocation at = file.layer(l);
            JsonNode layer = layerList.get(l);
            if (!layer.isObject()) throw at.error("expected an object mapping head index to pattern");
            List<HeadPattern> row = new ArrayList<>(Collections.nCopies(heads, fallback));
            Iterator<Map.Entry<String, JsonNode>> entries = layer.fields();
            while (entries.hasNext()) {
                Map.Entry<String, JsonNode> entry = entries.next();
                int head = headIndex(entry.getKey(), heads, at);
                row.set(head, readPattern(entry.getValue(), at.head(entry.getKey())));
            }
            rows.add(row);
        }
        return new PatternConfig(model, layers, heads, minSparse, rows);
    }

    /** One head object: {"pattern": name, budget fields..., "score": optional number}. */
    static HeadPattern readPattern(JsonNode node, ConfigLocation at) {
        if (node == null || !node.isObject()) throw at.error("expected an object with a \"pattern\" field");
        String name = requiredText(node, "pattern", at);
        JsonNode score = node.get("score");
        if (score != null && !score.isNumber()) throw at.error("\"score\" must be a number, got " + score);
        switch (name) {
            case DENSE:
                checkFields(node, List.of("pattern", "score"), at);
                return new HeadPattern.Dense();
            case A_SHAPE:
                checkFields(node, List.of("pattern", "n_init", "n_local", "score"), at);
                return new HeadPattern.AShape(requiredInt(node, "n_init", 0, at), requiredInt(node, "n_local", 1, at));
            case VERTICAL_SLASH:
                checkFields(node, List.of("pattern", "vertical_size", "slash_size", "score"), at);
                return new HeadPattern.VerticalSlash(
                    requiredInt(node, "vertical_size", 1, at), requiredInt(node, "slash_size", 1, at));
            case BLOCK_SPARSE:
                checkFields(node, List.of("pattern", "top_blocks", "score"), at);
                return new HeadPattern.BlockSparse(node.has("top_blocks")
                    ? requiredInt(node, "top_blocks", 1, at) : PatternConfig.DEFAULT_TOP_BLOCKS);
            case ADAPTIVE: {
                checkFields(node, List.of("pattern", "gamma", "min_budget", "max_budget", "score"), at);
                int min = node.has("min_budget") ? requiredInt(node, "min_budget", 1, at)
                    : HeadPattern.Adaptive.DEFAULT_MIN_BUDGET;
                int max = node.has("max_budget") ? requiredInt(node, "max_budget", 1, at)
                    : Math.max(min, HeadPattern.Adaptive.DEFAULT_MAX_BUDGET);
                double gamma = requiredNumber(node, "gamma", at);
                try {
                    return new HeadPattern.Adaptive(gamma, min, max);
                } catch (IllegalArgumentException e) {
                    throw at.error(e.getMessage());
                }
            }
            default:
                throw at.error("unknown pattern \"" + name + "\" (expected one of " + DENSE + ", " + A_SHAPE + ", "
                    + VERTICAL_SLASH + ", " + BLOCK_SPARSE + ", " + ADAPTIVE + ")");
        }
    }

    /** The config in our schema; the most common pattern becomes "default" and is not repeated. */
    static String write(PatternConfig config) {
        HeadPattern fallback = mostCommon(config);
        StringBuilder json = new StringBuilder("{\n");
        json.append("  \"format\": \"").append(FORMAT).append("\",\n");
        json.append("  \"model\": ").append(quoted(config.model())).append(",\n");
        json.append("  \"num_layers\": ").append(config.numLayers()).append(",\n");
        json.append("  \"num_heads\": ").append(config.numHeads()).append(",\n");
        json.append("  \"min_sparse_length\": ").append(config.minSparseLength()).append(",\n");
        json.append("  \"default\": ").append(patternJson(fallback)).append(",\n");
        json.append("  \"layers\": [");
        for (int l = 0; l < config.numLayers(); l++) {
            json.append(l == 0 ? "\n    {" : ",\n    {");
            boolean first = true;
            for (int h = 0; h < config.numHeads(); h++) {
                HeadPattern p = config.pattern(l, h);
                if (p.equals(fallback)) continue;
                json.append(first ? "" : ", ").append('"').append(h).append("\": ").append(patternJson(p));
                first = false;
            }
            json.append('}');
        }
        json.append("\n  ]\n}\n");
        return json.toString();
    }

    static String patternJson(HeadPattern p) {
        if (p instanceof HeadPattern.Dense) return "{\"pattern\": \"" + DENSE + "\"}";
        if (p instanceof HeadPattern.AShape a) {
            return "{\"pattern\": \"" + A_SHAPE + "\", \"n_init\": " + a.nInit() + ", \"n_local\": " + a.nLocal() + "}";
        }
        if (p instanceof HeadPattern.VerticalSlash vs) {
            return "{\"pattern\": \"" + VERTICAL_SLASH + "\", \"vertical_size\": " + vs.verticalSize()
                + ", \"slash_size\": " + vs.slashSize() + "}";
        }
        if (p instanceof HeadPattern.BlockSparse bs) {
            return "{\"pattern\": \"" + BLOCK_SPARSE + "\", \"top_blocks\": " + bs.topBlocks() + "}";
        }
        if (p instanceof HeadPattern.Adaptive a) {
            return "{\"pattern\": \"" + ADAPTIVE + "\", \"gamma\": " + a.gamma() + ", \"min_budget\": " + a.minBudget()
                + ", \"max_budget\": " + a.maxBudget() + "}";
        }
        throw new IllegalArgumentException("unknown head pattern " + p);
    }

    private static HeadPattern mostCommon(PatternConfig config) {
        Map<HeadPattern, Integer> counts = new LinkedHashMap<>();
        for (List<HeadPattern> row : config.heads()) {
            for (HeadPattern p : row) counts.merge(p, 1, Integer::sum);
        }
        HeadPattern best = null;
        int bestCount = 0;
        for (Map.Entry<HeadPattern, Integer> e : counts.entrySet()) {
            if (e.getValue() > bestCount) { best = e.getKey(); bestCount = e.getValue(); }
        }
        return best;
    }

    private static String quoted(String text) {
        try {
            return PatternConfigReader.JSON.writeValueAsString(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot quote a string", e);
        }
    }

    static int headIndex(String key, int heads, ConfigLocation at) {
        if (!key.matches("0|[1-9][0-9]{0,8}")) throw at.error("head key \"" + key + "\" is not a head index");
        int head = Integer.parseInt(key);
        if (head >= heads) {
            throw at.head(key).error("head index " + head + " out of range: num_heads is " + heads);
        }
        return head;
    }

    static String requiredText(JsonNode node, String field, ConfigLocation at) {
        JsonNode value = node.get(field);
        if (value == null) throw at.error("missing field \"" + field + "\"");
        if (!value.isTextual()) throw at.error("\"" + field + "\" must be a string, got " + value);
        return value.asText();
    }

    static int requiredInt(JsonNode node, String field, int min, ConfigLocation at) {
        JsonNode value = node.get(field);
        if (value == null) throw at.error("missing field \"" + field + "\"");
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw at.error("\"" + field + "\" must be a whole number, got " + value);
        }
        int number = value.intValue();
        if (number < min) throw at.error("\"" + field + "\" must be >= " + min + ", got " + number);
        return number;
    }

    static double requiredNumber(JsonNode node, String field, ConfigLocation at) {
        JsonNode value = node.get(field);
        if (value == null) throw at.error("missing field \"" + field + "\"");
        if (!value.isNumber()) throw at.error("\"" + field + "\" must be a number, got " + value);
        return value.doubleValue();
    }

    private static void checkFields(JsonNode node, List<String> allowed, ConfigLocation at) {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!allowed.contains(name)) throw at.error("unknown field \"" + name + "\" (allowed: " + allowed + ")");
        }
    }
}
