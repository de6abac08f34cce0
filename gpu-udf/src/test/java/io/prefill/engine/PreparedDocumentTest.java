package io.prefill.engine;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.model.LoadedModel;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SQL functions tokenize a document before they take their turn on a shared GPU and pre-fill it
 * after: that split must give exactly the rows the one-step call gives, errors included.
 */
class PreparedDocumentTest {
    @TempDir Path tmp;

    private static final String TEXT = "The quarterly report was filed on time and the audit found nothing. ".repeat(12);

    private PrefillEngine engine(EngineOptions options) {
        Path dir = tmp.resolve("model");
        if (!dir.resolve("config.json").toFile().exists()) TinyModelWriter.write(dir, TinyModelSpec.demo(), 5);
        LoadedModel model = LoadedModel.open(dir);
        PatternConfig dense = PatternConfig.uniform("t", 2, 4, 0, new HeadPattern.Dense());
        return new PrefillEngine(model, new CpuForwardPass(model.config(), model.weights(), dense), options);
    }

    @Test
    void preparedThenPrefilledEqualsTheOneStepCall() throws Exception {
        try (PrefillEngine engine = engine(EngineOptions.defaults())) {
            PrefillEngine.PreparedDocument doc = engine.prepare(TEXT, null);
            assertFalse(doc.failed());
            assertEquals(doc.promptTokens(), doc.kept().length);
            DocumentResult split = engine.prefill(doc);
            DocumentResult whole = engine.prefill(TEXT, null);
            assertNull(split.errorKind());
            assertEquals(whole.promptTokens(), split.promptTokens());
            assertEquals(whole.first().tokenId(), split.first().tokenId());
            assertEquals(whole.first().logprob(), split.first().logprob(), 0.0);
            assertArrayEquals(whole.first().topIds(), split.first().topIds());

            var kv = engine.prefillWithKvSummary(doc, KvSummaryOptions.defaults(), "m");
            assertEquals(whole.first().tokenId(), kv.first().first().tokenId());
            assertTrue(kv.kv().ok(), kv.kv().toString());
        }
    }

    @Test
    void documentProblemsFoundWhilePreparingBecomeTheSameErrorRows() throws Exception {
        try (PrefillEngine engine = engine(new EngineOptions(5, 64, LengthPolicy.ERROR, PromptTemplate.none()))) {
            for (String text : new String[] {null, "", TEXT}) {
                PrefillEngine.PreparedDocument doc = engine.prepare(text, null);
                assertTrue(doc.failed(), String.valueOf(text));
                DocumentResult split = engine.prefill(doc), whole = engine.prefill(text, null);
                assertEquals(whole.errorKind(), split.errorKind());
                assertEquals(whole.error(), split.error());
                assertEquals(whole.promptTokens(), split.promptTokens());
                var kv = engine.prefillWithKvSummary(doc, KvSummaryOptions.defaults(), "m");
                assertEquals(whole.errorKind(), kv.first().errorKind());
                assertEquals(whole.errorKind(), kv.kv().errorKind());
            }
            assertEquals("empty_text", engine.prepare("", null).errorKind());
            assertEquals("too_long", engine.prepare(TEXT, null).errorKind(), "over --max-tokens 64 under policy error");
        }
    }
}
