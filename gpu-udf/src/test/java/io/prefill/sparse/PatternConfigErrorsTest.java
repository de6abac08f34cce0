package io.prefill.sparse;

import io.prefill.io.BoundedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of bad config fails with a message naming the file and, where it applies, layer and head. */
class PatternConfigErrorsTest {
    @TempDir Path dir;

    /** Our schema with layer 1, head 2 replaced by the given pattern object. */
    private static String ours(String head2OfLayer1) {
        return """
            {"format": "prefill-patterns/1", "model": "m", "num_layers": 2, "num_heads": 4,
             "layers": [{}, {"0": {"pattern": "dense"}, "2": %s}]}
            """.formatted(head2OfLayer1);
    }

    /** Reads the text as bad.json and returns the error message, checking it names the file. */
    private String failure(String json, String... mentions) throws IOException {
        Path path = Files.writeString(dir.resolve("bad.json"), json);
        PatternConfigException e = assertThrows(PatternConfigException.class, () -> PatternConfig.read(path));
        String message = e.getMessage();
        assertTrue(message.contains("bad.json"), message);
        for (String m : mentions) assertTrue(message.contains(m), "expected \"" + m + "\" in: " + message);
        return message;
    }

    @Test
    void unknownPattern() throws IOException {
        failure(ours("{\"pattern\": \"diagonal\"}"), "layer 1, head 2", "unknown pattern \"diagonal\"");
    }

    @Test
    void negativeBudget() throws IOException {
        failure(ours("{\"pattern\": \"a_shape\", \"n_init\": -1, \"n_local\": 64}"), "layer 1, head 2", "n_init", "-1");
    }

    @Test
    void zeroBudget() throws IOException {
        failure(ours("{\"pattern\": \"vertical_slash\", \"vertical_size\": 0, \"slash_size\": 64}"),
            "layer 1, head 2", "vertical_size", ">= 1");
        failure(ours("{\"pattern\": \"block_sparse\", \"top_blocks\": 0}"), "layer 1, head 2", "top_blocks");
        failure(ours("{\"pattern\": \"a_shape\", \"n_init\": 4, \"n_local\": 0}"), "layer 1, head 2", "n_local");
    }

    @Test
    void budgetThatIsNotAWholeNumber() throws IOException {
        failure(ours("{\"pattern\": \"vertical_slash\", \"vertical_size\": 1.5, \"slash_size\": 64}"),
            "layer 1, head 2", "vertical_size", "whole number");
        failure(ours("{\"pattern\": \"vertical_slash\", \"vertical_size\": \"100\", \"slash_size\": 64}"), "vertical_size");
    }

    @Test
    void malformedJson() throws IOException {
        failure("{\"format\": \"prefill-patterns/1\",\n \"model\": \"m\" \"num_layers\": 2}", "malformed JSON", "line 2");
        failure("[{\"0\": [\"vertical_and_slash\", 1000, 6096, 0.5]}", "malformed JSON");
    }

    @Test
    void missingBudgetField() throws IOException {
        failure(ours("{\"pattern\": \"vertical_slash\", \"vertical_size\": 100}"), "layer 1, head 2", "missing field \"slash_size\"");
    }

    @Test
    void missingPatternName() throws IOException {
        failure(ours("{\"vertical_size\": 100, \"slash_size\": 100}"), "layer 1, head 2", "missing field \"pattern\"");
    }

    @Test
    void missingTopLevelFields() throws IOException {
        failure("{\"format\": \"prefill-patterns/1\", \"model\": \"m\", \"num_heads\": 4, \"layers\": []}", "missing field \"num_layers\"");
        failure("{\"format\": \"prefill-patterns/1\", \"num_layers\": 1, \"num_heads\": 4, \"layers\": [{}]}", "missing field \"model\"");
        failure("{\"format\": \"prefill-patterns/1\", \"model\": \"m\", \"num_layers\": 1, \"num_heads\": 4}", "missing field \"layers\"");
    }

    @Test
    void unknownFieldIsATypoNotADefault() throws IOException {
        failure(ours("{\"pattern\": \"vertical_slash\", \"vertical_sise\": 100, \"slash_size\": 64}"),
            "layer 1, head 2", "unknown field \"vertical_sise\"");
        failure("{\"format\": \"prefill-patterns/1\", \"model\": \"m\", \"num_layer\": 1}", "unknown field \"num_layer\"");
    }

    @Test
    void layerCountDiffersFromNumLayers() throws IOException {
        failure("{\"format\": \"prefill-patterns/1\", \"model\": \"m\", \"num_layers\": 3, \"num_heads\": 4, \"layers\": [{}, {}]}",
            "2 entries", "num_layers is 3");
    }

    @Test
    void headIndexOutOfRangeOrNotANumber() throws IOException {
        failure(ours("{\"pattern\": \"dense\"}").replace("\"2\":", "\"4\":"), "layer 1, head 4", "out of range");
        failure(ours("{\"pattern\": \"dense\"}").replace("\"2\":", "\"two\":"), "layer 1", "\"two\"");
    }

    @Test
    void duplicateHeadKey() throws IOException {
        failure(ours("{\"pattern\": \"dense\"}, \"2\": {\"pattern\": \"dense\"}"), "malformed JSON", "Duplicate");
    }

    @Test
    void unsupportedFormatOrNotAConfig() throws IOException {
        failure("{\"format\": \"prefill-patterns/2\", \"model\": \"m\"}", "unsupported format \"prefill-patterns/2\"");
        failure("{\"model\": \"m\"}", "not a pattern config");
        failure("\"just a string\"", "not a pattern config");
    }

    @Test
    void unknownPatternInMInferenceFormat() throws IOException {
        failure("[{\"0\": [\"vertical_and_slash\", 1000, 6096, 0.5]}, {\"3\": [\"sparse_magic\", 1, 2, 0.1]}]",
            "layer 1, head 3", "unknown pattern \"sparse_magic\"");
    }

    @Test
    void negativeOrZeroBudgetInMInferenceFormat() throws IOException {
        failure("[{\"0\": [\"vertical_and_slash\", -5, 6096, 0.5]}]", "layer 0, head 0", "vertical_size", "-5");
        failure("[{}, {\"1\": [\"stream_llm\", 64, 0, 0.5]}]", "layer 1, head 1", "n_local");
    }

    @Test
    void malformedEntryInMInferenceFormat() throws IOException {
        failure("[{\"0\": [\"vertical_and_slash\", 1000]}]", "layer 0, head 0", "[pattern, a, b");
        failure("[{\"0\": {\"pattern\": \"vertical_and_slash\"}}]", "layer 0, head 0");
        failure("[[1, 2]]", "layer 0");
        failure("[]", "empty");
        failure("[{}, {}]", "no layer names any head");
    }

    @Test
    void unreadableFile() {
        Path missing = dir.resolve("missing.json");
        PatternConfigException e = assertThrows(PatternConfigException.class, () -> PatternConfig.read(missing));
        assertTrue(e.getMessage().contains("missing.json"), e.getMessage());
    }

    @Test
    void configThatNeverEnds() {
        Path zero = Path.of("/dev/zero");
        if (!Files.isReadable(zero)) return;
        PatternConfigException e = assertThrows(PatternConfigException.class, () -> PatternConfig.read(zero));
        assertTrue(e.getMessage().contains("/dev/zero") && e.getMessage().contains("limit of "
                + BoundedFiles.size(BoundedFiles.JSON_METADATA_BYTES)), e.getMessage());
    }

    @Test
    void contentAfterTheConfigIsRefused() throws IOException {
        String config = "{\"format\": \"prefill-patterns/1\", \"model\": \"m\", \"num_layers\": 1, \"num_heads\": 1,"
            + " \"layers\": [{\"0\": {\"pattern\": \"dense\"}}]}";
        failure(config + "\n" + config, "after the config");
        failure(config + " trailing words", "after the config");
        failure("[{\"0\": [\"vertical_and_slash\", 1000, 6096, 0.5]}] []", "after the config");
        Path ok = Files.writeString(dir.resolve("ok.json"), config + "\n\n");
        PatternConfig.read(ok);
    }
}
