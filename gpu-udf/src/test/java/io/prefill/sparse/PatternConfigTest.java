package io.prefill.sparse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our schema, prefill-patterns/1: reading, defaults, writing, and the model check. */
class PatternConfigTest {
    @TempDir Path dir;

    private static final HeadPattern VS = new HeadPattern.VerticalSlash(64, 256);
    private static final HeadPattern A = new HeadPattern.AShape(64, 512);
    private static final HeadPattern BLOCKS = new HeadPattern.BlockSparse(8);
    private static final HeadPattern DENSE = new HeadPattern.Dense();

    private Path file(String name, String json) throws IOException {
        return Files.writeString(dir.resolve(name), json);
    }

    @Test
    void writesAndReadsBackTheSameConfig() throws IOException {
        PatternConfig config = new PatternConfig("mixed \"model\"", 3, 5, 2048, List.of(
            List.of(VS, A, BLOCKS, DENSE, VS),
            List.of(VS, VS, VS, VS, VS),
            List.of(new HeadPattern.VerticalSlash(3500, 100), A, A, DENSE, new HeadPattern.BlockSparse(100))));
        Path path = dir.resolve("mixed.json");
        config.write(path);
        assertEquals(config, PatternConfig.read(path));
        assertTrue(config.toJson().contains("\"default\": {\"pattern\": \"vertical_slash\", \"vertical_size\": 64, \"slash_size\": 256}"),
            "the most common pattern becomes the default:\n" + config.toJson());
    }

    @Test
    void uniformConfigRoundTrips() throws IOException {
        PatternConfig config = PatternConfig.uniform("u", 4, 2, 0, A);
        Path path = dir.resolve("uniform.json");
        config.write(path);
        assertEquals(config, PatternConfig.read(path));
    }

    @Test
    void readsTheDemoModelConfig() {
        var demo = TestInputs.projectFile("pattern-configs/demo-model.json");
        assertTrue(demo.isPresent(), "pattern-configs/demo-model.json not found above the working directory");
        PatternConfig config = PatternConfig.read(demo.get());
        assertEquals("demo-model", config.model());
        assertEquals(1024, config.minSparseLength());
        assertEquals(List.of(
            List.of(new HeadPattern.VerticalSlash(64, 256), new HeadPattern.AShape(64, 512),
                    new HeadPattern.BlockSparse(8), new HeadPattern.VerticalSlash(128, 128)),
            List.of(new HeadPattern.BlockSparse(4), new HeadPattern.VerticalSlash(30, 512),
                    new HeadPattern.AShape(32, 256), new HeadPattern.Dense())), config.heads());
        assertDoesNotThrow(() -> config.validateFor(2, 4, demo.get().toString()));
    }

    @Test
    void everyCommittedConfigParsesAndFitsTheCommittedModelItNames() throws IOException {
        var folder = TestInputs.projectFile("pattern-configs");
        assertTrue(folder.isPresent(), "pattern-configs not found above the working directory");
        List<Path> files;
        try (var list = Files.list(folder.get())) {
            files = list.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
        assertTrue(files.size() >= 5, files.toString());
        int fitted = 0;
        for (Path f : files) {
            PatternConfig config = PatternConfig.read(f);
            Path model = folder.get().resolveSibling("models").resolve(config.model()).resolve("config.json");
            if (!Files.isRegularFile(model)) continue;
            var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(model.toFile());
            assertDoesNotThrow(() -> config.validateFor(json.get("num_hidden_layers").asInt(),
                    json.get("num_attention_heads").asInt(), f.toString()), f.toString());
            fitted++;
        }
        assertTrue(fitted >= 3, "the needle model's configs are checked against models/needle-llama: " + fitted);
    }

    @Test
    void missingHeadsTakeTheDefaultAndOptionalFieldsHaveDefaults() throws IOException {
        Path path = file("defaults.json", """
            {"format": "prefill-patterns/1", "model": "m", "num_layers": 2, "num_heads": 3,
             "layers": [{"1": {"pattern": "block_sparse", "score": 0.25}},
                        {"2": {"pattern": "a_shape", "n_init": 0, "n_local": 8, "score": 7}}]}
            """);
        PatternConfig config = PatternConfig.read(path);
        HeadPattern fallback = new HeadPattern.VerticalSlash(1000, 6096);
        assertEquals(PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, config.minSparseLength());
        assertEquals(List.of(List.of(fallback, new HeadPattern.BlockSparse(100), fallback),
                             List.of(fallback, fallback, new HeadPattern.AShape(0, 8))), config.heads());
    }

    @Test
    void anExplicitDefaultFillsTheMissingHeads() throws IOException {
        Path path = file("explicit-default.json", """
            {"format": "prefill-patterns/1", "model": "m", "num_layers": 1, "num_heads": 2,
             "min_sparse_length": 0, "default": {"pattern": "dense"}, "layers": [{"0": {"pattern": "block_sparse", "top_blocks": 3}}]}
            """);
        PatternConfig config = PatternConfig.read(path);
        assertEquals(List.of(List.of(new HeadPattern.BlockSparse(3), DENSE)), config.heads());
        assertEquals(0, config.minSparseLength());
    }

    @Test
    void validateForNamesTheSourceAndBothShapes() {
        PatternConfig config = PatternConfig.uniform("m", 32, 32, 8192, VS);
        PatternConfigException e = assertThrows(PatternConfigException.class,
            () -> config.validateFor(2, 4, "configs/llama.json"));
        assertTrue(e.getMessage().contains("configs/llama.json"), e.getMessage());
        assertTrue(e.getMessage().contains("32 layers x 32 heads"), e.getMessage());
        assertTrue(e.getMessage().contains("2 layers x 4"), e.getMessage());
        assertThrows(PatternConfigException.class, () -> config.validateFor(32, 8, "x"));
        assertDoesNotThrow(() -> config.validateFor(32, 32, "x"));
    }
}
