package io.prefill.engine;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.model.LoadedModel;
import io.prefill.model.TensorEdits;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inputs that once gave a plausible-looking row instead of an error: each is an error row now. */
class SilentFailuresTest {
    @TempDir Path tmp;

    private static final String TEXT = "The quarterly report was filed on time. ".repeat(8);

    private DocumentResult prefill(Path dir, String text) throws Exception {
        LoadedModel model = LoadedModel.open(dir);
        PatternConfig dense = PatternConfig.uniform("t", 2, 4, 0, new HeadPattern.Dense());
        try (PrefillEngine engine = new PrefillEngine(model, new CpuForwardPass(model.config(), model.weights(), dense),
                EngineOptions.defaults())) {
            return engine.prefill(text, null);
        }
    }

    private Path damaged(String tensor, Consumer<float[]> change) {
        Path dir = tmp.resolve(tensor.replace('.', '_'));
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 7);
        TensorEdits.edit(dir, tensor, change);
        return dir;
    }

    private static void nonFiniteRow(DocumentResult r) {
        assertEquals("engine", r.errorKind(), r.toString());
        assertTrue(r.error().contains("non-finite"), r.error());
        assertNull(r.first());
        assertTrue(r.promptTokens() > 0);
    }

    @Test
    void aNanInALayerNormIsAnEngineErrorRow() throws Exception {
        nonFiniteRow(prefill(damaged("model.layers.1.input_layernorm.weight", w -> w[3] = Float.NaN), TEXT));
    }

    @Test
    void anAllNanLmHeadIsAnEngineErrorRow() throws Exception {
        nonFiniteRow(prefill(damaged("lm_head.weight", w -> Arrays.fill(w, Float.NaN)), TEXT));
    }

    @Test
    void anInfiniteEmbeddingRowIsAnEngineErrorRow() throws Exception {
        Path dir = tmp.resolve("inf-embedding");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 7);
        int hidden = TinyModelSpec.demo().hiddenSize();
        int bos;
        try (LoadedModel m = LoadedModel.open(dir)) {
            bos = m.config().bosTokenId();
        }
        // the BOS row: every prompt starts with it
        TensorEdits.edit(dir, "model.embed_tokens.weight", w -> Arrays.fill(w, bos * hidden, (bos + 1) * hidden,
                Float.POSITIVE_INFINITY));
        nonFiniteRow(prefill(dir, TEXT));
    }

    @Test
    void aFiniteModelGivesFiniteRows() throws Exception {
        Path dir = tmp.resolve("finite");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 7);
        DocumentResult r = prefill(dir, TEXT);
        assertNull(r.error(), r.toString());
        assertTrue(Double.isFinite(r.first().logprob()));
    }

    @Test
    void textOfOnlyUnicodeWhitespaceOrZeroWidthCharactersIsEmpty() throws Exception {
        Path dir = tmp.resolve("m");
        TinyModelWriter.write(dir, TinyModelSpec.demo(), 7);
        for (String blank : new String[] {"\u00A0\u00A0", "\u3000", "\u200B\u200C\u200D\u2060\uFEFF", " \t\n\u00A0\u3000\u200B",
                "\u2007\u202F\u205F"}) {
            DocumentResult r = prefill(dir, blank);
            assertEquals("empty_text", r.errorKind(), () -> "text " + blank.codePoints().mapToObj(Integer::toHexString).toList());
        }
        assertNull(prefill(dir, "\u00A0word\u3000").error(), "visible text among the spaces is a document");
    }
}
