package io.prefill.kv;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.engine.DocumentOutputs;
import io.prefill.engine.EngineOptions;
import io.prefill.engine.PrefillEngine;
import io.prefill.model.LoadedModel;
import io.prefill.model.TinyModelSpec;
import io.prefill.model.TinyModelWriter;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvSummaryRowsTest {
    @TempDir
    Path dir;

    @Test
    void rowsRoundTripBitExactInAnyOrder() {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 4L);
        try (LoadedModel model = LoadedModel.open(dir.resolve("m"))) {
            PrefillEngine engine = engine(model);
            KvSummaryOptions o = new KvSummaryOptions(8, 20, 4, 7, KvSummaryOptions.Pooling.MAX, 0);
            String text = "The quarterly report was filed on time by the north office. ".repeat(20);
            DocumentOutputs out = engine.prefillWithKvSummary(text, null, o, ModelIdentity.of("file:/models/tiny-llama/", model.config()));
            assertTrue(out.first().ok() && out.kv().ok(), String.valueOf(out.kv().error()));
            KvSummary s = out.kv().summary();
            assertTrue(s.model().startsWith("tiny-llama@"), s.model());
            assertEquals(32, s.head(0, 0).kept());
            assertEquals(out.first().promptTokens(), s.promptTokens());

            List<Row> rows = new ArrayList<>(KvSummaryRows.toRows(out.kv()));
            assertEquals(2, rows.size());
            Collections.reverse(rows);
            KvSummary back = KvSummaryRows.fromRows(rows, "doc");
            assertEquals(s, back);
            assertArrayEquals(s.head(1, 1).k(), back.head(1, 1).k());

            // the same token the first-token path gives
            assertEquals(engine.prefill(text, null).first().tokenId(), out.first().first().tokenId());
        }
    }

    @Test
    void aSummaryOverTheLimitBecomesAnErrorRowWithTheNumbers() {
        TinyModelWriter.write(dir.resolve("m"), TinyModelSpec.demo(), 4L);
        try (LoadedModel model = LoadedModel.open(dir.resolve("m"))) {
            PrefillEngine engine = engine(model);
            KvSummaryOptions o = KvSummaryOptions.defaults().withMaxBytes(1000);
            DocumentOutputs out = engine.prefillWithKvSummary("Revenue grew in the north region. ".repeat(10), null, o, "m");
            assertTrue(out.first().ok(), "the first token is still computed");
            assertEquals(KvSummaryResult.TOO_LARGE, out.kv().errorKind());
            assertTrue(out.kv().error().contains("over the limit of 1000 bytes"), out.kv().error());
            List<Row> rows = KvSummaryRows.toRows(out.kv());
            assertEquals(1, rows.size());
            assertNull(rows.get(0).getAs("layer"));
            assertEquals("kv_too_large", rows.get(0).getAs("error_kind"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvSummaryRows.fromRows(rows, "doc-x"));
            assertTrue(e.getMessage().contains("doc-x") && e.getMessage().contains("kv_too_large"));

            DocumentOutputs empty = engine.prefillWithKvSummary("", null, o, "m");
            assertEquals("empty_text", empty.kv().errorKind());
            assertEquals("empty_text", empty.first().errorKind());
        }
    }

    private static PrefillEngine engine(LoadedModel model) {
        PatternConfig dense = PatternConfig.uniform("t", 2, 4, 0, new HeadPattern.Dense());
        return new PrefillEngine(model, new CpuForwardPass(model.config(), model.weights(), dense), EngineOptions.defaults());
    }
}
