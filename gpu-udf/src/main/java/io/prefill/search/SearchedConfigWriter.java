package io.prefill.search;

import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Writes a search's config in our schema ("prefill-patterns/1") with every head listed and its
 * "score" (1 - relative L2 error against dense, averaged over the calibration documents), which
 * {@link PatternConfig#toJson()} would drop. PatternConfig.read reads the result back.
 */
public final class SearchedConfigWriter {
    private SearchedConfigWriter() { }

    public static void write(SearchOutcome outcome, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.writeString(file, toJson(outcome));
    }

    public static String toJson(SearchOutcome outcome) {
        PatternConfig config = outcome.config();
        StringBuilder json = new StringBuilder("{\n");
        json.append("  \"format\": \"").append(PatternConfig.FORMAT).append("\",\n");
        json.append("  \"model\": ").append(quoted(config.model())).append(",\n");
        json.append("  \"comment\": ").append(quoted(comment(outcome))).append(",\n");
        json.append("  \"num_layers\": ").append(config.numLayers()).append(",\n");
        json.append("  \"num_heads\": ").append(config.numHeads()).append(",\n");
        json.append("  \"min_sparse_length\": ").append(config.minSparseLength()).append(",\n");
        // Every head is listed, so the default only matters to a reader that adds heads.
        json.append("  \"default\": {\"pattern\": \"dense\"},\n");
        json.append("  \"layers\": [");
        for (int l = 0; l < config.numLayers(); l++) {
            json.append(l == 0 ? "\n    {" : ",\n    {");
            for (int h = 0; h < config.numHeads(); h++) {
                json.append(h == 0 ? "" : ",\n     ").append('"').append(h).append("\": ")
                    .append(patternJson(config.pattern(l, h), outcome.head(l, h).chosen().score()));
            }
            json.append('}');
        }
        json.append("\n  ]\n}\n");
        return json.toString();
    }

    /** The head as the config format writes it ({@link PatternConfig#patternJson}), with its score. */
    static String patternJson(HeadPattern p, double score) {
        String json = PatternConfig.patternJson(p);
        return json.substring(0, json.length() - 1) + String.format(Locale.ROOT, ", \"score\": %.4f}", score);
    }

    private static String comment(SearchOutcome o) {
        return String.format(Locale.ROOT, "Produced by the pattern search (io.prefill.search): target cost %.3f of dense, "
            + "%d calibration document(s) of %s tokens; score = 1 - relative L2 error of the head's output vs dense%s, "
            + "averaged over the documents.", o.options().targetCost(), o.documentIds().size(), o.documentLengths(),
            o.options().scoredRows() == SearchOptions.ScoredRows.LAST_BLOCK ? " on the last query block" : "");
    }

    private static String quoted(String text) {
        StringBuilder s = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') s.append('\\').append(c);
            else if (c < 0x20) s.append(String.format("\\u%04x", (int) c));
            else s.append(c);
        }
        return s.append('"').toString();
    }
}
