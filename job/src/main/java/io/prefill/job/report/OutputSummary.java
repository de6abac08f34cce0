package io.prefill.job.report;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

/** The report's headline figures: documents, errors by kind, tokens, and timings per series. */
public record OutputSummary(long documents, long succeeded, Map<String, Long> errorsByKind,
                            long promptTokens, long droppedTokens, List<SeriesTiming> series) {

    /** Timings of the documents of one series (backend, or backend and mode). */
    public record SeriesTiming(String series, long documents, double medianMs, double p90Ms,
                               double tokensPerSecond, double medianDensity) { }

    public long errors() { return documents - succeeded; }

    public static OutputSummary of(Dataset<Row> out) {
        Row totals = out.agg(
                count(lit(1)),
                expr("count_if(error IS NULL)"),
                expr("coalesce(sum(CASE WHEN error IS NULL THEN prompt_tokens END), 0)"),
                expr("coalesce(sum(CASE WHEN error IS NULL THEN dropped_tokens END), 0)")).first();

        Map<String, Long> errors = new LinkedHashMap<>();
        for (Row r : out.filter(col("error").isNotNull())
                .groupBy(coalesce(col("error_kind"), lit("unknown")).as("kind")).count()
                .orderBy(col("count").desc(), col("kind")).collectAsList()) {
            errors.put(r.getString(0), r.getLong(1));
        }

        List<SeriesTiming> series = new ArrayList<>();
        for (Row r : FirstTokenOutput.succeeded(out).groupBy(FirstTokenOutput.SERIES).agg(
                        count(lit(1)),
                        expr("percentile(prefill_ms, 0.5)"),
                        expr("percentile(prefill_ms, 0.9)"),
                        // Tokens actually pre-filled (after the length policy) per second of forward pass.
                        expr("sum(prompt_tokens - dropped_tokens) * 1000.0 / sum(prefill_ms)"),
                        expr("percentile(attention_density, 0.5)"))
                .orderBy(FirstTokenOutput.SERIES).collectAsList()) {
            series.add(new SeriesTiming(r.getString(0), r.getLong(1), r.getDouble(2), r.getDouble(3),
                    r.isNullAt(4) ? Double.NaN : r.getDouble(4), r.isNullAt(5) ? Double.NaN : r.getDouble(5)));
        }
        return new OutputSummary(totals.getLong(0), totals.getLong(1), errors, totals.getLong(2), totals.getLong(3),
                series);
    }
}
