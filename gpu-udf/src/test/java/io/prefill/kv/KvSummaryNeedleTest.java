package io.prefill.kv;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.model.LoadedModel;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV summaries on the trained needle model (models/needle-llama): a 2,048-token prompt whose fact
 * sits halfway in. Summarised to 100 of its positions, SnapKV keeps what the answer needs, both
 * with the question inside the summary and with the question asked after a summary of the
 * document alone; the 100 most recent positions do not reach back to the fact and lose it. The
 * whole cache answers, and so does the pre-fill. A selector that stops following the observation
 * window's attention, a summary that stores the wrong rows, or a decode step that misplaces RoPE
 * positions changes these answers.
 */
class KvSummaryNeedleTest {
    static final Path MODEL = Path.of("..", "models", "needle-llama").toAbsolutePath().normalize();
    static final Path PROMPTS = MODEL.resolve("demo/needle-demo-cpu.jsonl");
    /** The needle prompts' question: "What was the code for KEY ? the code for KEY is". */
    static final int QUESTION_TOKENS = 12;
    static LoadedModel model;
    static KvSummaryAgreement agreement;
    static KvSummaryAgreement.Prompt prompt;

    @BeforeAll
    static void load() {
        assertTrue(Files.isRegularFile(PROMPTS), PROMPTS + " is missing");
        model = LoadedModel.open(MODEL);
        var c = model.config();
        CpuForwardPass pass = new CpuForwardPass(c, model.weights(),
                PatternConfig.uniform("dense", c.numLayers(), c.numHeads(), 0, new HeadPattern.Dense()));
        agreement = new KvSummaryAgreement(model, KvSummaryAgreement.cpu(pass, c.numLayers(), c.numKvHeads()),
                KvSummaryAgreement.snapBudgets(64));
        prompt = KvSummaryAgreement.readPrompts(model, PROMPTS, 5).stream()
                .filter(p -> p.length() == 2048).findFirst().orElseThrow();
    }

    @AfterAll
    static void close() { if (model != null) model.close(); }

    @Test
    void snapKvKeepsTheFactThatTheMostRecentPositionsLose() {
        assertEquals(100, agreement.budgets().get(0).keptPositions(prompt.tokens().length - QUESTION_TOKENS));
        for (int heldOut : List.of(1, QUESTION_TOKENS)) {
            KvSummaryAgreement.Outcome o = agreement.measure(prompt, heldOut);
            String at = prompt.id() + " (answer " + prompt.answer() + "), " + heldOut + " token(s) decoded after the summary";
            assertTrue(o.fullCorrect(), "the whole cache answers: " + at);
            assertTrue(o.correct(0, KvSummaryAgreement.Method.SNAPKV), "SnapKV, 100 positions: " + at);
            assertTrue(o.agrees(0, KvSummaryAgreement.Method.SNAPKV), at);
            assertFalse(o.correct(0, KvSummaryAgreement.Method.RECENT), "the 100 most recent positions: " + at);
            assertFalse(o.correct(0, KvSummaryAgreement.Method.SINKS_RECENT), "4 sinks + 96 most recent: " + at);
        }
    }
}
