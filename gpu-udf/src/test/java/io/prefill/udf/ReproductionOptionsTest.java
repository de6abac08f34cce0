package io.prefill.udf;

import io.prefill.engine.DocumentResult;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.PrefillEngine;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The options a user needs to reproduce a reference run: the dense-below length, whether the
 * tokenizer adds BOS, and prompts longer than the model's positions.
 */
class ReproductionOptionsTest {
    @TempDir
    Path dir;

    private EngineSpec spec(Path model, PatternConfig patterns, EngineOptions options) {
        return new EngineSpec(model.toString(), patterns, "test", "cpu", options);
    }

    @Test
    void minSparseLengthReplacesTheConfigsOwn() throws Exception {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 1);
        PrefillEngine engine = EngineCache.open(spec(dir.resolve("m"), null, EngineOptions.defaults()));
        try {
            var config = engine.model().config();
            PatternConfig file = PatternConfig.uniform("m", 2, 4, 4096, new HeadPattern.VerticalSlash(30, 50));
            assertEquals(4096, EngineCache.patternsOf(spec(dir.resolve("m"), file, EngineOptions.defaults()), config).minSparseLength());
            assertEquals(0, EngineCache.patternsOf(spec(dir.resolve("m"), file, EngineOptions.defaults().withMinSparseLength(0)), config)
                    .minSparseLength());
            assertEquals(PatternConfig.DEFAULT_MIN_SPARSE_LENGTH,
                    EngineCache.patternsOf(spec(dir.resolve("m"), null, EngineOptions.defaults()), config).minSparseLength());
            assertEquals(100, EngineCache.patternsOf(spec(dir.resolve("m"), null, EngineOptions.defaults().withMinSparseLength(100)),
                    config).minSparseLength());
        } finally {
            engine.close();
        }
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.defaults().withMinSparseLength(-2));
    }

    @Test
    void addSpecialTokensFalseLeavesThePromptsOwnTokens() throws Exception {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 1);
        PrefillEngine with = EngineCache.open(spec(dir.resolve("m"), null, EngineOptions.defaults()));
        PrefillEngine without = EngineCache.open(spec(dir.resolve("m"), null, EngineOptions.defaults().withAddSpecialTokens(false)));
        try {
            String text = "The contract was signed by both parties.";
            int[] a = with.tokenize(text), b = without.tokenize(text);
            int bos = with.model().config().bosTokenId();
            assertEquals(bos, a[0], "by default the tokenizer adds BOS");
            assertArrayEquals(Arrays.copyOfRange(a, 1, a.length), b);
            DocumentResult r = without.prefill(text, null);
            assertTrue(r.ok(), r.error());
            assertEquals(b.length, r.promptTokens());
        } finally {
            with.close();
            without.close();
        }
    }

    @Test
    void promptsBeyondTheModelsPositionsAreTooLongUnlessAllowed() throws Exception {
        TinyModelSpec d = TinyModelSpec.demo();
        TinyModelSpec short64 = new TinyModelSpec(d.architecture(), d.hiddenSize(), d.intermediateSize(), d.numLayers(),
                d.numHeads(), d.numKvHeads(), d.headDim(), d.ropeTheta(), d.ropeScaling(), d.tieWordEmbeddings(), d.dtype(), 64);
        TinyModelWriter.write(dir.resolve("short"), short64, 1);
        String text = "word ".repeat(200);
        PrefillEngine strict = EngineCache.open(spec(dir.resolve("short"), null, EngineOptions.defaults()));
        PrefillEngine allowed = EngineCache.open(spec(dir.resolve("short"), null,
                EngineOptions.defaults().withAllowBeyondMaxPositions(true)));
        try {
            DocumentResult r = strict.prefill(text, null);
            assertEquals("too_long", r.errorKind());
            assertTrue(r.error().contains("max_position_embeddings of 64"), r.error());
            assertTrue(r.promptTokens() > 64);
            assertEquals(-1, strict.plannedTokens(text, null), "planned as an error row");
            assertTrue(strict.prefill("word ".repeat(20), null).ok(), "within the positions");
            DocumentResult ok = allowed.prefill(text, null);
            assertTrue(ok.ok(), ok.error());
            assertEquals(r.promptTokens(), ok.promptTokens());
        } finally {
            strict.close();
            allowed.close();
        }
    }
}
