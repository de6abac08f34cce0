package io.prefill.sparse;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prefill.io.BoundedFiles;

import java.io.IOException;
import java.nio.file.Path;

/** Parses a config file and hands it to the reader of its format: list = MInference's, object = ours. */
final class PatternConfigReader {
    static final ObjectMapper JSON = new ObjectMapper()
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    private PatternConfigReader() { }

    static PatternConfig read(Path file) {
        String name = file.toString();
        String text;
        try {
            text = BoundedFiles.readString(file, BoundedFiles.JSON_METADATA_BYTES, "pattern config");
        } catch (BoundedFiles.TooLargeException e) {
            throw new PatternConfigException(e.getMessage(), e);
        } catch (IOException e) {
            throw new PatternConfigException(name + ": cannot read pattern config: " + e, e);
        }
        return parse(text, name, stem(file));
    }

    /** @param source names the text in errors; @param fallbackModel the model name for MInference files */
    static PatternConfig parse(String text, String source, String fallbackModel) {
        JsonNode root;
        try (JsonParser p = JSON.createParser(text)) {
            root = JSON.readTree(p);
            // one config per file: a second object or stray text after it is a damaged file, not ignored
            if (root != null) rejectTrailingContent(p, source);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new PatternConfigException(source + ": malformed JSON" + where + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new PatternConfigException(source + ": cannot read pattern config: " + e, e);
        }
        ConfigLocation location = ConfigLocation.file(source);
        if (root != null && root.isArray()) return MInferencePatternFormat.read(root, location, fallbackModel);
        if (root != null && root.isObject() && root.has("format")) return PrefillPatternFormat.read(root, location);
        throw location.error("not a pattern config: expected a JSON list (MInference's published format) or an object"
            + " with \"format\": \"" + PrefillPatternFormat.FORMAT + "\"");
    }

    private static void rejectTrailingContent(JsonParser p, String source) throws IOException {
        JsonLocation at = p.currentLocation();
        boolean more;
        try {
            more = p.nextToken() != null;
            if (more) at = p.currentTokenLocation();
        } catch (JsonProcessingException e) {
            more = true; // not even JSON: stray text
            if (e.getLocation() != null) at = e.getLocation();
        }
        if (more) {
            throw new PatternConfigException(source + ": content after the config at line " + at.getLineNr()
                + ", column " + at.getColumnNr() + " (a file holds exactly one JSON list or object)");
        }
    }

    private static String stem(Path file) {
        Path fileName = file.getFileName();
        String base = fileName == null ? file.toString() : fileName.toString();
        return base.endsWith(".json") ? base.substring(0, base.length() - ".json".length()) : base;
    }
}
