package io.prefill.sparse;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * MInference's published format: a list with one object per layer, each mapping a head index
 * string to [pattern, a, b, score]. Heads missing from a layer take vertical_and_slash (1000,
 * 6096); block_sparse keeps 100 blocks whatever its numbers say, as the reference forward does.
 * The file has no head count, so num_heads = 1 + the largest head index seen anywhere.
 */
final class MInferencePatternFormat {
    static final String VERTICAL_AND_SLASH = "vertical_and_slash";
    static final String STREAM_LLM = "stream_llm";
    static final String BLOCK_SPARSE = "block_sparse";

    private MInferencePatternFormat() { }

    static PatternConfig read(JsonNode root, ConfigLocation file, String model) {
        if (root.size() == 0) throw file.error("the layer list is empty");
        List<Map<Integer, HeadPattern>> layers = new ArrayList<>();
        int maxHead = -1;
        for (int l = 0; l < root.size(); l++) {
            ConfigLocation at = file.layer(l);
            JsonNode layer = root.get(l);
            if (!layer.isObject()) throw at.error("expected an object mapping head index to [pattern, a, b, score]");
            Map<Integer, HeadPattern> heads = new TreeMap<>();
            Iterator<Map.Entry<String, JsonNode>> entries = layer.fields();
            while (entries.hasNext()) {
                Map.Entry<String, JsonNode> entry = entries.next();
                int head = PrefillPatternFormat.headIndex(entry.getKey(), Integer.MAX_VALUE, at);
                heads.put(head, readEntry(entry.getValue(), at.head(entry.getKey())));
                maxHead = Math.max(maxHead, head);
            }
            layers.add(heads);
        }
        if (maxHead < 0) throw file.error("no layer names any head");
        int numHeads = maxHead + 1;
        List<List<HeadPattern>> rows = new ArrayList<>();
        for (Map<Integer, HeadPattern> heads : layers) {
            List<HeadPattern> row = new ArrayList<>(Collections.nCopies(numHeads, PatternConfig.MINFERENCE_DEFAULT));
            heads.forEach(row::set);
            rows.add(row);
        }
        return new PatternConfig(model, layers.size(), numHeads, PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, rows);
    }

    private static HeadPattern readEntry(JsonNode entry, ConfigLocation at) {
        if (!entry.isArray() || entry.size() < 3 || entry.size() > 4) {
            throw at.error("expected [pattern, a, b] or [pattern, a, b, score], got " + entry);
        }
        if (!entry.get(0).isTextual()) throw at.error("pattern name must be a string, got " + entry.get(0));
        String name = entry.get(0).asText();
        switch (name) {
            case VERTICAL_AND_SLASH:
                return new HeadPattern.VerticalSlash(budget(entry, 1, "vertical_size", 1, at), budget(entry, 2, "slash_size", 1, at));
            case STREAM_LLM:
                return new HeadPattern.AShape(budget(entry, 1, "n_init", 0, at), budget(entry, 2, "n_local", 1, at));
            case BLOCK_SPARSE:
                return new HeadPattern.BlockSparse(PatternConfig.DEFAULT_TOP_BLOCKS);
            default:
                throw at.error("unknown pattern \"" + name + "\" (expected one of " + VERTICAL_AND_SLASH + ", "
                    + STREAM_LLM + ", " + BLOCK_SPARSE + ")");
        }
    }

    private static int budget(JsonNode entry, int position, String what, int min, ConfigLocation at) {
        JsonNode value = entry.get(position);
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw at.error(what + " (element " + position + ") must be a whole number, got " + value);
        }
        int number = value.intValue();
        if (number < min) throw at.error(what + " (element " + position + ") must be >= " + min + ", got " + number);
        return number;
    }
}
