package io.prefill.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prefill.engine.Backends;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo's inputs as committed, and its verdict table. The demo's run itself is NeedleModelSuite's job. */
class DemoMainTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void eachBackendHasACorpusOfSingleNeedleDocumentsAndTwoErrorRows() throws IOException {
        for (String backend : List.of(Backends.CPU, Backends.CUDA)) {
            Path corpus = ROOT.resolve(DemoMain.corpus(backend));
            assertTrue(Files.isRegularFile(corpus), corpus + " is missing");
            List<JsonNode> rows = new ArrayList<>();
            for (String line : Files.readAllLines(corpus, StandardCharsets.UTF_8)) rows.add(new ObjectMapper().readTree(line));
            List<JsonNode> docs = rows.stream().filter(r -> r.hasNonNull("text") && !r.get("text").asText().isEmpty()).toList();
            assertEquals(2, rows.size() - docs.size(), backend + ": the empty and the null document");
            for (JsonNode d : docs) {
                assertEquals(1, d.get("needles").asInt(), d.get("id").asText());
                assertTrue(d.get("answer").asText().strip().matches("\\d+"), d.get("id").asText());
                int length = d.get("length").asInt();
                assertTrue(backend.equals(Backends.CPU) ? length <= 4096 : length >= 12000,
                        backend + " " + d.get("id").asText() + ": " + length + " tokens");
            }
        }
        assertTrue(Files.isRegularFile(ROOT.resolve(DemoMain.PATTERNS)));
        assertTrue(Files.isRegularFile(ROOT.resolve(DemoMain.MODEL).resolve("model.safetensors")));
    }

    @Test
    void theTableCountsRightAnswersAndLeavesErrorRowsOut() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DemoMain.printAnswers(List.of(
                new DemoMain.Answer("a", 1024, 0.1, "4193", " 4193", 0.8, 1000.0, null),
                new DemoMain.Answer("b", 2048, 0.5, "6707", " 17", 0.4, 2000.0, null),
                new DemoMain.Answer("c", 0, null, null, null, null, 0.0, "empty_text")),
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String table = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("1 of 2 answers right"), table);
        assertTrue(table.contains("60% of the attention"), table);
        assertTrue(table.lines().anyMatch(l -> l.contains(" b ") && l.contains("NO")), table);
        assertTrue(table.lines().anyMatch(l -> l.contains(" c ") && l.contains("(empty_text)")), table);
    }
}
