package io.prefill.search;

import io.prefill.model.LoadedModel;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.sparse.PatternConfigException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole search on the demo-shaped tiny model: config, file round trip, report, bad input. */
class PatternSearchTest {
    private static final SearchOptions OPTIONS = new SearchOptions(0.5, 512, 64, 0.1, List.of(PatternFamily.values()));

    @TempDir
    static Path dir;
    private static LoadedModel model;

    @BeforeAll
    static void writeModel() {
        TinyModelWriter.write(dir.resolve("model"), TinyModelSpec.demo(), 42L);
        model = LoadedModel.open(dir.resolve("model"));
    }

    @AfterAll
    static void closeModel() { model.close(); }

    @Test
    void searchesEveryHeadAndWritesAConfigThatReadsBack() throws Exception {
        List<CalibrationDocument> docs = List.of(doc("a", 700, 1), doc("b", 600, 2));
        SearchOutcome outcome = PatternSearch.run("demo-model", model.config(), model.weights(), docs, OPTIONS, null, null);

        PatternConfig config = outcome.config();
        assertEquals(2, config.numLayers());
        assertEquals(4, config.numHeads());
        assertEquals(512, config.minSparseLength());
        for (int l = 0; l < 2; l++) {
            for (int h = 0; h < 4; h++) {
                HeadOutcome head = outcome.head(l, h);
                assertEquals(PatternFamily.values().length, head.candidates().size());
                assertTrue(head.chosen().cost() <= 0.5 * 1.1, head.toString());
                assertTrue(head.chosen().recall() > 0 && head.chosen().recall() <= 1 + 1e-9, head.toString());
            }
        }
        Path file = dir.resolve("searched.json");
        SearchedConfigWriter.write(outcome, file);
        assertEquals(config, PatternConfig.read(file));
        assertTrue(Files.readString(file).contains("\"score\": "), "scores are written per head");

        String report = SearchReport.markdown(outcome);
        assertTrue(report.contains("## Patterns per layer"), report);
        assertTrue(report.contains("| 1 | 3 | "), "one row per head: " + report);
    }

    @Test
    void pinnedDenseHeadsStayDense() {
        PatternConfig pinned = withDense(1, 2);
        SearchOutcome outcome = PatternSearch.run("demo-model", model.config(), model.weights(),
            List.of(doc("a", 600, 3)), OPTIONS, pinned, "pins.json");
        assertInstanceOf(HeadPattern.Dense.class, outcome.config().pattern(1, 2));
        assertTrue(outcome.head(1, 2).pinned());
    }

    @Test
    void aTargetNoFamilyCanMeetTakesTheCheapestAndSaysSo() {
        SearchOptions tight = new SearchOptions(0.01, 512, 16, 0.1, List.of(PatternFamily.values()));
        SearchOutcome outcome = PatternSearch.run("demo-model", model.config(), model.weights(),
            List.of(doc("a", 600, 7)), tight, null, null);
        HeadOutcome head = outcome.head(0, 0);
        double cheapest = head.candidates().stream().mapToDouble(CandidateScore::cost).min().orElseThrow();
        assertEquals(cheapest, head.chosen().cost());
        assertTrue(SearchReport.markdown(outcome).contains("(over target: no family fits)"));
    }

    @Test
    void refusesADocumentShorterThanTheMinimumSparseLength() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PatternSearch.run(
            "demo-model", model.config(), model.weights(), List.of(doc("long", 600, 4), doc("short", 100, 5)),
            OPTIONS, null, null));
        assertTrue(e.getMessage().contains("'short' has 100 tokens, fewer than min_sparse_length 512"), e.getMessage());
    }

    @Test
    void refusesAPinnedConfigOfAnotherShape() {
        PatternConfig other = PatternConfig.uniform("other-model", 3, 8, 0, new HeadPattern.Dense());
        PatternConfigException e = assertThrows(PatternConfigException.class, () -> PatternSearch.run(
            "demo-model", model.config(), model.weights(), List.of(doc("a", 600, 6)), OPTIONS, other, "other.json"));
        assertTrue(e.getMessage().contains("other.json") && e.getMessage().contains("3 layers x 8 heads")
            && e.getMessage().contains("2 layers x 4 attention heads"), e.getMessage());
    }

    @Test
    void refusesABadTargetCost() {
        assertThrows(IllegalArgumentException.class, () -> SearchOptions.defaults(0, 1024));
        assertThrows(IllegalArgumentException.class, () -> SearchOptions.defaults(1.5, 1024));
    }

    private static PatternConfig withDense(int layer, int head) {
        List<List<HeadPattern>> rows = new java.util.ArrayList<>();
        for (int l = 0; l < 2; l++) {
            List<HeadPattern> row = new java.util.ArrayList<>();
            for (int h = 0; h < 4; h++) {
                row.add(l == layer && h == head ? new HeadPattern.Dense() : new HeadPattern.AShape(4, 64));
            }
            rows.add(row);
        }
        return new PatternConfig("pins", 2, 4, 0, rows);
    }

    private static CalibrationDocument doc(String id, int n, long seed) {
        Random random = new Random(seed);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = random.nextInt(model.config().vocabSize());
        return new CalibrationDocument(id, tokens);
    }
}
