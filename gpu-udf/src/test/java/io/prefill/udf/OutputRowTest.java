package io.prefill.udf;

import io.prefill.engine.AttentionStats;
import io.prefill.engine.DocumentResult;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A first-token row has every column of {@link OutputSchema#RESULT}, each in its place. */
class OutputRowTest {
    @Test
    void theRowRecordsTheBackendAndTheWeightsItRanWith() {
        Row ok = PrefillUdf.toRow(new DocumentResult(1_000, 0, null, AttentionStats.NONE, 3.5, "cpu", null, null), "fp8-e4m3");
        assertEquals(OutputSchema.RESULT.size(), ok.size());
        assertEquals("cpu", ok.get(OutputSchema.RESULT.fieldIndex("backend")));
        assertEquals("fp8-e4m3", ok.get(OutputSchema.RESULT.fieldIndex("weights")));
        assertEquals(3.5, ok.get(OutputSchema.RESULT.fieldIndex("prefill_ms")));
        Row failed = PrefillUdf.toRow(DocumentResult.failed("cuda", 900, "device_memory", "does not fit"), "bf16");
        assertEquals("bf16", failed.get(OutputSchema.RESULT.fieldIndex("weights")));
        assertEquals("device_memory", failed.get(OutputSchema.RESULT.fieldIndex("error_kind")));
        assertEquals("does not fit", failed.get(OutputSchema.RESULT.fieldIndex("error")));
    }
}
