package io.prefill.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

/** The KV-summary output: one row per document and layer (or one error row), and what was written. */
final class KvOutput {
    private KvOutput() { }

    /** id plus the columns of KvSummaryRows.KV_LAYER, from the KV SQL function's result column. */
    static Dataset<Row> rows(Dataset<Row> prefilled, String resultColumn) {
        return prefilled.select(col(CorpusReader.ID), explode(col(resultColumn + ".kv")).as("kv"))
                .select(col(CorpusReader.ID), col("kv.*"));
    }

    /** Documents, error documents and pre-filled tokens of a KV output, as a job summary without a sample. */
    static JobSummary summary(SparkSession spark, String output, double seconds) {
        Row r = totals(spark, output);
        // one error row per failed document
        Map<String, Long> byKind = JobSummary.errorsByKind(spark.read().parquet(output));
        return new JobSummary(output, r.getLong(0), r.getLong(1), byKind, r.isNullAt(2) ? 0 : r.getLong(2), -1, seconds,
                List.of());
    }

    static void logLine(SparkSession spark, String output, PrintStream log) {
        Row r = totals(spark, output);
        log.printf("[prefill] KV summaries: %d documents (%d errors), %,d bytes of K and V, in %s%n",
                r.getLong(0), r.getLong(1), r.isNullAt(3) ? 0 : r.getLong(3), output);
    }

    private static Row totals(SparkSession spark, String output) {
        return spark.read().parquet(output).agg(
                countDistinct(col("id")),
                countDistinct(when(col("error").isNotNull(), col("id"))),
                sum(when(col("layer").equalTo(0), col("prompt_tokens").cast("long"))),
                sum(expr("aggregate(kv_heads, 0L, (acc, h) -> acc + length(h.k) + length(h.v))"))).first();
    }
}
