package io.prefill.job.search;

import io.prefill.job.DemoCorpus;
import io.prefill.job.PatternSearchJob;
import io.prefill.model.TextTokenizer;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.search.PatternFamily;
import io.prefill.search.SearchOptions;
import io.prefill.search.SearchOutcome;
import io.prefill.job.cli.ClusterException;
import io.prefill.sparse.PatternConfig;
import io.prefill.cuda.CudaAvailability;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The application end to end on a tiny model, its options, and its calibration reader. */
class PatternSearchJobTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void writeInputs() throws Exception {
        TinyModelWriter.write(dir.resolve("model"), TinyModelSpec.demo(), 42L);
        try (TextTokenizer tokenizer = TextTokenizer.load(dir.resolve("model").resolve("tokenizer.json"))) {
            DemoCorpus.write(dir.resolve("calibration.jsonl"), tokenizer, new int[] {600}, 3L);
        }
    }

    private static String[] args(String... extra) {
        List<String> all = new java.util.ArrayList<>(List.of("--model", dir.resolve("model").toString(),
            "--calibration", dir.resolve("calibration.jsonl").toString(), "--output", dir.resolve("out/c.json").toString(),
            "--model-name", "demo-model", "--target-cost", "0.5", "--recall-rows", "32"));
        all.addAll(List.of(extra));
        return all.toArray(String[]::new);
    }

    @Test
    void writesAConfigThatReadsBackAndAReportBesideIt() throws Exception {
        SearchOutcome outcome = PatternSearchJob.run(SearchJobOptions.parse(args("--min-sparse-length", "256")));
        Path config = dir.resolve("out/c.json");
        assertEquals(outcome.config(), PatternConfig.read(config));
        String report = Files.readString(dir.resolve("out/c.report.md"));
        assertTrue(report.contains("# Pattern search: demo-model") && report.contains("## Heads"), report);
        assertEquals(1, outcome.documentIds().size(), "the empty and null rows are skipped");
    }

    @Test
    void refusesCalibrationShorterThanTheMinimumSparseLength() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PatternSearchJob.run(SearchJobOptions.parse(args("--min-sparse-length", "100000"))));
        assertTrue(e.getMessage().contains("fewer than min_sparse_length 100000"), e.getMessage());
    }

    @Test
    void refusesAPinnedConfigForAnotherModel() throws Exception {
        Path other = dir.resolve("other.json");
        PatternConfig.uniform("other", 3, 8, 0, new io.prefill.sparse.HeadPattern.Dense()).write(other);
        RuntimeException e = assertThrows(RuntimeException.class, () -> PatternSearchJob.run(
            SearchJobOptions.parse(args("--min-sparse-length", "256", "--pinned", other.toString()))));
        assertTrue(e.getMessage().contains("3 layers x 8 heads, but the model has 2 layers x 4 attention heads"),
            e.getMessage());
    }

    @Test
    void optionsHaveDefaultsAndCheckTheirValues() {
        SearchJobOptions o = SearchJobOptions.parse(new String[] {"--model", "m", "--calibration", "a.txt,b", "--output", "x.json"});
        assertEquals(0.1, o.targetCost());
        assertEquals(PatternConfig.DEFAULT_MIN_SPARSE_LENGTH, o.minSparseLength());
        assertEquals(Path.of("x.report.md"), o.report());
        assertEquals(List.of(Path.of("a.txt"), Path.of("b")), o.calibration());
        assertThrows(IllegalArgumentException.class, () -> SearchJobOptions.parse(args("--target-cost", "0")));
        assertThrows(IllegalArgumentException.class, () -> SearchJobOptions.parse(args("--target-cost", "2")));
        assertThrows(IllegalArgumentException.class, () -> SearchJobOptions.parse(new String[] {"--output", "x.json"}));
        assertThrows(IllegalArgumentException.class, () -> SearchJobOptions.parse(args("--bogus", "1")));
        assertEquals("cpu", o.backend());
        assertEquals("cuda", SearchJobOptions.parse(args("--backend", "cuda", "--device", "1")).backend());
        assertEquals(1, SearchJobOptions.parse(args("--backend", "cuda", "--device", "1")).device());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> SearchJobOptions.parse(args("--backend", "tpu")));
        assertTrue(e.getMessage().contains("option --backend: 'tpu' is not one of [cpu, cuda]"), e.getMessage());
    }

    @Test
    void lastBlockScoringIsAnOptionOfTheSearchAndSaysSoInItsOutputs() throws Exception {
        assertEquals(SearchOptions.ScoredRows.ALL, SearchJobOptions.parse(args()).scoredRows());
        SearchOutcome outcome = PatternSearchJob.run(SearchJobOptions.parse(args("--min-sparse-length", "256",
            "--scored-rows", "last-block")));
        assertEquals(SearchOptions.ScoredRows.LAST_BLOCK, outcome.options().scoredRows());
        assertTrue(Files.readString(dir.resolve("out/c.json")).contains("on the last query block"));
        assertTrue(Files.readString(dir.resolve("out/c.report.md")).contains("--scored-rows last-block"));
        // both backends score it (GpuPatternSearchTest compares them)
        assertEquals(SearchOptions.ScoredRows.LAST_BLOCK,
            SearchJobOptions.parse(args("--scored-rows", "last-block", "--backend", "cuda")).scoredRows());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
            () -> SearchJobOptions.parse(args("--scored-rows", "first")));
        assertTrue(bad.getMessage().contains("[all, last-block]"), bad.getMessage());
    }

    @Test
    void familiesAreAnOptionAndAdaptiveIsSearchedOnEitherBackend() throws Exception {
        assertEquals(PatternFamily.DEFAULT, SearchJobOptions.parse(args()).families());
        assertEquals(List.of(PatternFamily.A_SHAPE, PatternFamily.ADAPTIVE),
            SearchJobOptions.parse(args("--families", "adaptive, a_shape")).families(), "preference order");
        assertEquals(List.of(PatternFamily.VERTICAL_SLASH, PatternFamily.VERTICAL_SLASH_WIDE),
            SearchJobOptions.parse(args("--families", "vertical-slash")).families(), "both vertical-slash shapes");
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
            () -> SearchJobOptions.parse(args("--families", "a_shape,adaptve")));
        assertTrue(unknown.getMessage().contains("option --families: 'adaptve' is not one of [a_shape, block_sparse, "
            + "vertical_slash, adaptive]; did you mean adaptive?"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SearchJobOptions.parse(args("--families", ",")));
        SearchJobOptions cuda = SearchJobOptions.parse(args("--families", "vertical_slash,adaptive", "--backend", "cuda"));
        assertEquals("cuda", cuda.backend());
        assertTrue(cuda.families().contains(PatternFamily.ADAPTIVE), cuda.families().toString());

        SearchOutcome outcome = PatternSearchJob.run(SearchJobOptions.parse(args("--min-sparse-length", "256",
            "--families", "vertical_slash,adaptive")));
        assertEquals(List.of(PatternFamily.VERTICAL_SLASH, PatternFamily.VERTICAL_SLASH_WIDE, PatternFamily.ADAPTIVE),
            outcome.options().families());
        assertEquals(outcome.config(), PatternConfig.read(dir.resolve("out/c.json")));
        assertTrue(outcome.head(0, 0).candidates().stream().anyMatch(c -> c.family() == PatternFamily.ADAPTIVE));
        assertTrue(Files.readString(dir.resolve("out/c.report.md")).contains("- adaptive: "));
    }

    @Test
    void theCudaBackendWithoutAGpuSaysWhyBeforeAnyWork() {
        CudaAvailability cuda = CudaAvailability.probe();
        Assumptions.assumeFalse(cuda.available(), "this machine has a usable GPU");
        ClusterException e = assertThrows(ClusterException.class, () -> PatternSearchJob.run(
            SearchJobOptions.parse(args("--min-sparse-length", "256", "--backend", "cuda"))));
        assertTrue(e.getMessage().startsWith("--backend cuda: ") && e.getMessage().contains(cuda.reason()), e.getMessage());
    }

    @Test
    void readsTextFilesAndFolders() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("texts"));
        Files.writeString(folder.resolve("b.txt"), "second");
        Files.writeString(folder.resolve("a.txt"), "first");
        Files.writeString(folder.resolve("notes.md"), "ignored");
        List<CalibrationReader.Text> docs = CalibrationReader.read(List.of(folder));
        assertEquals(List.of(new CalibrationReader.Text("a.txt", "first"), new CalibrationReader.Text("b.txt", "second")), docs);
        assertThrows(IllegalArgumentException.class, () -> CalibrationReader.read(List.of(dir.resolve("missing"))));
    }
}
