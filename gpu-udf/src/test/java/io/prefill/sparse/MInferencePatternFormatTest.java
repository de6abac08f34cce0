package io.prefill.sparse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prefill.model.ModelConfig;
import io.prefill.testing.PublishedConfigs;
import io.prefill.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** MInference's published list format, on a small file and on every published file in the shared folder. */
class MInferencePatternFormatTest {
    @TempDir Path dir;

    private static final HeadPattern DEFAULT = new HeadPattern.VerticalSlash(1000, 6096);

    @Test
    void readsTheListFormat() throws IOException {
        Path path = Files.writeString(dir.resolve("Tiny_Model_best_pattern.json"), """
            [{"0": ["vertical_and_slash", 30, 800, 0.5], "2": ["stream_llm", 100, 800, 0.1]},
             {"1": ["block_sparse", 5, 7], "3": ["vertical_and_slash", 3500, 100, 12]}]
            """);
        PatternConfig config = PatternConfig.read(path);
        assertEquals("Tiny_Model_best_pattern", config.model());
        assertEquals(2, config.numLayers());
        assertEquals(4, config.numHeads());
        assertEquals(PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, config.minSparseLength());
        assertEquals(List.of(
            List.of(new HeadPattern.VerticalSlash(30, 800), DEFAULT, new HeadPattern.AShape(100, 800), DEFAULT),
            List.of(DEFAULT, new HeadPattern.BlockSparse(100), DEFAULT, new HeadPattern.VerticalSlash(3500, 100))),
            config.heads());
    }

    @Test
    void readsEveryPublishedConfig() throws IOException {
        Path folder = publishedConfigs();
        List<Path> files;
        try (Stream<Path> listing = Files.list(folder)) {
            files = listing.filter(p -> p.toString().endsWith(".json")).sorted().collect(Collectors.toList());
        }
        assumeTrue(!files.isEmpty(), "no published configs in " + folder);
        ObjectMapper json = new ObjectMapper();
        for (Path file : files) {
            PatternConfig config = PatternConfig.read(file);
            JsonNode layers = json.readTree(file.toFile());
            assertEquals(layers.size(), config.numLayers(), file.toString());
            int maxHead = 0;
            for (int l = 0; l < layers.size(); l++) {
                var heads = layers.get(l).fields();
                while (heads.hasNext()) {
                    var head = heads.next();
                    int h = Integer.parseInt(head.getKey());
                    maxHead = Math.max(maxHead, h);
                    assertEquals(expected(head.getValue()), config.pattern(l, h), file + " layer " + l + " head " + h);
                }
            }
            assertEquals(maxHead + 1, config.numHeads(), file.toString());
            // Converting to our schema loses nothing the engine uses.
            Path ours = dir.resolve(file.getFileName());
            config.write(ours);
            assertEquals(config, PatternConfig.read(ours), file.toString());
        }
    }

    @Test
    void llama3With262kContextIs32By32VerticalSlash() {
        Path file = publishedConfigs().resolve("Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json");
        assumeTrue(Files.exists(file), file + " absent");
        PatternConfig config = PatternConfig.read(file);
        config.validateFor(32, 32, file.toString());
        Set<HeadPattern> seen = config.heads().stream().flatMap(List::stream).collect(Collectors.toSet());
        assertTrue(seen.stream().allMatch(p -> p instanceof HeadPattern.VerticalSlash), seen.toString());
        for (HeadPattern p : List.of(DEFAULT, new HeadPattern.VerticalSlash(3500, 100),
                                     new HeadPattern.VerticalSlash(30, 800), new HeadPattern.VerticalSlash(100, 800))) {
            assertTrue(seen.contains(p), p + " not among " + seen);
        }
    }

    @Test
    void phi3MixesStreamLlmHeadsIn() {
        Path file = publishedConfigs().resolve("Phi_3_mini_128k_instruct_kv_out_v32_fit_o_best_pattern.json");
        assumeTrue(Files.exists(file), file + " absent");
        PatternConfig config = PatternConfig.read(file);
        Set<HeadPattern> seen = config.heads().stream().flatMap(List::stream).collect(Collectors.toSet());
        assertTrue(seen.contains(new HeadPattern.AShape(100, 800)), seen.toString());
        assertFalse(seen.stream().anyMatch(p -> p instanceof HeadPattern.Dense));
    }

    /** The published pattern configs of Phi-3-mini-128k and GLM-4-9B-1M fit those models' layers x heads. */
    @Test
    void phi3AndGlm4PatternsFitTheirModels() {
        for (String[] pair : new String[][] {
                {"Phi_3_mini_128k_instruct_kv_out_v32_fit_o_best_pattern.json", PublishedConfigs.PHI3_MINI_128K},
                {"GLM_4_9B_1M_instruct_kv_out_v32_fit_o_best_pattern.json", PublishedConfigs.GLM4_9B_CHAT_1M}}) {
            Path file = publishedConfigs().resolve(pair[0]);
            assumeTrue(Files.exists(file), file + " absent");
            ModelConfig model = PublishedConfigs.read(pair[1]);
            PatternConfig config = PatternConfig.read(file);
            config.validateFor(model.numLayers(), model.numHeads(), file.toString());
            assertEquals(model.numLayers(), config.numLayers(), file.toString());
            assertEquals(model.numHeads(), config.numHeads(), file.toString());
        }
    }

    private static Path publishedConfigs() {
        var folder = SharedData.find("minference-configs");
        assumeTrue(folder.isPresent(), "shared minference-configs folder absent");
        return folder.get();
    }

    /** The pattern an entry stands for, decoded independently of the reader. */
    private static HeadPattern expected(JsonNode entry) {
        String name = entry.get(0).asText();
        return switch (name) {
            case "vertical_and_slash" -> new HeadPattern.VerticalSlash(entry.get(1).asInt(), entry.get(2).asInt());
            case "stream_llm" -> new HeadPattern.AShape(entry.get(1).asInt(), entry.get(2).asInt());
            case "block_sparse" -> new HeadPattern.BlockSparse(100);
            default -> throw new AssertionError("unexpected pattern " + name);
        };
    }
}
