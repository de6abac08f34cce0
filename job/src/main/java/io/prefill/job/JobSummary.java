package io.prefill.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;

/**
 * What the job wrote, read back from the Parquet output, and a short table of it.
 *
 * @param rows          documents in the output
 * @param errorsByKind  error rows by {@code error_kind}
 * @param tokens        tokens pre-filled: of documents without error, after the length policy
 * @param droppedTokens tokens the length policy cut from documents without error; -1 where the
 *                      output does not record them (KV summaries)
 * @param seconds       wall time of the pre-fill
 */
public record JobSummary(String output, long rows, long errors, Map<String, Long> errorsByKind, long tokens,
                         long droppedTokens, double seconds, List<Row> sample) {
    static final int SAMPLE_ROWS = 20;

    static JobSummary read(SparkSession spark, String output, double seconds) {
        Dataset<Row> out = spark.read().parquet(output).cache();
        try {
            long rows = out.count();
            Map<String, Long> byKind = errorsByKind(out);
            long errors = byKind.values().stream().mapToLong(Long::longValue).sum();
            Row t = out.filter(col("error").isNull()).agg(sum(col("prompt_tokens").minus(col("dropped_tokens"))),
                    sum("dropped_tokens")).first();
            long tokens = t.isNullAt(0) ? 0 : t.getLong(0);
            long dropped = t.isNullAt(1) ? 0 : t.getLong(1);
            List<Row> sample = out.select("id", "prompt_tokens", "first_token_id", "first_token_text",
                            "first_token_logprob", "attention_density", "prefill_ms", "error")
                    .orderBy(col("prompt_tokens")).limit(SAMPLE_ROWS).collectAsList();
            return new JobSummary(output, rows, errors, byKind, tokens, dropped, seconds, sample);
        } finally {
            out.unpersist();
        }
    }

    /** Error rows of an output by error_kind, most frequent first (rows with an error but no kind: "unknown"). */
    static Map<String, Long> errorsByKind(Dataset<Row> out) {
        Map<String, Long> byKind = new LinkedHashMap<>();
        for (Row r : out.filter(col("error").isNotNull()).groupBy(coalesce(col("error_kind"), lit("unknown")).as("kind"))
                .count().orderBy(col("count").desc(), col("kind")).collectAsList()) {
            byKind.put(r.getString(0), r.getLong(1));
        }
        return byKind;
    }

    void print(PrintStream p) {
        p.println();
        p.printf("%-22s %8s %9s  %-14s %8s %8s %9s  %s%n", "id", "tokens", "token_id", "token_text",
                "logprob", "density", "ms", "error");
        for (Row r : sample) {
            p.printf("%-22s %8d %9s  %-14s %8s %8s %9.0f  %s%n", clip(r.getString(0), 22), r.getInt(1),
                    r.isNullAt(2) ? "-" : Integer.toString(r.getInt(2)),
                    r.isNullAt(3) ? "-" : clip(visible(r.getString(3)), 14),
                    r.isNullAt(4) ? "-" : String.format("%.3f", r.getDouble(4)),
                    r.isNullAt(5) ? "-" : String.format("%.3f", r.getDouble(5)),
                    r.getDouble(6), r.isNullAt(7) ? "" : clip(r.getString(7), 60));
        }
        if (rows > sample.size()) p.printf("... %d more rows%n", rows - sample.size());
        p.printf(Locale.ROOT, "%n%d documents written to %s (%d errors%s), %,d tokens pre-filled%s in %.1f s%n",
                rows, output, errors, errors == 0 ? "" : ": " + kinds(), tokens,
                droppedTokens > 0 ? String.format(Locale.ROOT, " (%,d more cut by --length-policy)", droppedTokens) : "",
                seconds);
    }

    private String kinds() {
        StringBuilder b = new StringBuilder();
        errorsByKind.forEach((k, n) -> b.append(b.length() == 0 ? "" : ", ").append(n).append(' ').append(k));
        return b.toString();
    }

    private static String visible(String s) {
        return "'" + s.replace("\n", "\\n").replace("\t", "\\t") + "'";
    }

    private static String clip(String s, int width) {
        if (s == null) return "null";
        return s.length() <= width ? s : s.substring(0, width - 1) + "~";
    }
}
