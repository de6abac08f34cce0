package io.prefill.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.prefill.io.BoundedFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * What DJL does not expose about a tokenizer.json: the vocabulary size (model vocab plus added
 * tokens) and the added tokens by text. Streamed, because real files are 10 MB of JSON.
 */
record TokenizerJsonSummary(int vocabSize, Map<String, Integer> addedTokens) {

    static TokenizerJsonSummary read(Path file) {
        int maxId = -1;
        boolean sawModel = false;
        Map<String, Integer> added = new HashMap<>();
        try (JsonParser p = ModelConfigJson.MAPPER.getFactory().createParser(
                BoundedFiles.open(file, BoundedFiles.TOKENIZER_JSON_BYTES, "tokenizer.json"))) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw invalid(file, "expected a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "added_tokens" -> {
                        JsonNode tokens = p.readValueAsTree();
                        if (tokens != null && tokens.isArray()) {
                            for (JsonNode t : tokens) {
                                int id = t.path("id").asInt(-1);
                                if (id >= 0 && t.hasNonNull("content")) added.put(t.get("content").asText(), id);
                                maxId = Math.max(maxId, id);
                            }
                        }
                    }
                    case "model" -> {
                        sawModel = true;
                        maxId = Math.max(maxId, maxModelVocabId(file, p));
                    }
                    default -> p.skipChildren();
                }
            }
            // read to the end, so a file that goes on past its object is noticed (and bounded)
            if (p.nextToken() != null) throw invalid(file, "content after the top-level object");
        } catch (BoundedFiles.TooLargeException e) {
            throw new ModelFormatException(e.getMessage(), e);
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not a valid tokenizer.json (" + e.getMessage() + ")", e);
        }
        if (!sawModel) throw invalid(file, "no \"model\" section");
        if (maxId < 0) throw invalid(file, "empty vocabulary");
        return new TokenizerJsonSummary(maxId + 1, Collections.unmodifiableMap(added));
    }

    /** Largest id in model.vocab: an object token -> id (BPE, WordPiece) or a list of [piece, score] (Unigram). */
    private static int maxModelVocabId(Path file, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) throw invalid(file, "\"model\" must be an object");
        int maxId = -1;
        boolean sawVocab = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (!field.equals("vocab")) {
                p.skipChildren();
            } else if (value == JsonToken.START_OBJECT) {
                sawVocab = true;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    p.nextToken();
                    maxId = Math.max(maxId, p.getIntValue());
                }
            } else if (value == JsonToken.START_ARRAY) {
                sawVocab = true;
                int count = 0;
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    p.skipChildren();
                    count++;
                }
                maxId = count - 1;
            } else {
                throw invalid(file, "model.vocab must be an object or a list");
            }
        }
        if (!sawVocab) throw invalid(file, "model has no vocab");
        return maxId;
    }

    private static ModelFormatException invalid(Path file, String problem) {
        return new ModelFormatException(file + ": not a valid tokenizer.json (" + problem + ")");
    }
}
