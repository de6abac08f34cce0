package io.prefill.job;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.countDistinct;

/** What the job wrote, read back from the Parquet output, and a short table of it; errors counted by kind. */
public record JobSummary(String output, long rows, long errors, long tokens, double seconds, List<Row> sample,
                         Map<String, Long> errorsByKind) {
    static final int SAMPLE_ROWS = 20;

    static JobSummary read(SparkSession spark, String output, double seconds) {
        Dataset<Row> out = spark.read().parquet(output).cache();
        try {
            long rows = out.count();
            long errors = out.filter(col("error").isNotNull()).count();
            Row t = out.filter(col("error").isNull()).agg(org.apache.spark.sql.functions.sum("prompt_tokens")).first();
            long tokens = t.isNullAt(0) ? 0 : t.getLong(0);
            List<Row> sample = out.select("id", "prompt_tokens", "first_token_id", "first_token_text",
                            "first_token_logprob", "attention_density", "prefill_ms", "error")
                    .orderBy(col("prompt_tokens")).limit(SAMPLE_ROWS).collectAsList();
            return new JobSummary(output, rows, errors, tokens, seconds, sample, errorsByKind(out, col("error_kind")));
        } finally {
            out.unpersist();
        }
    }

    /** Documents per error kind, most frequent first; kinds are counted once per document (id). */
    static Map<String, Long> errorsByKind(Dataset<Row> out, Column kind) {
        Map<String, Long> byKind = new LinkedHashMap<>();
        out.filter(kind.isNotNull()).groupBy(kind.as("kind")).agg(countDistinct(col("id")).as("n"))
                .orderBy(col("n").desc(), col("kind")).collectAsList()
                .forEach(r -> byKind.put(r.getString(0), r.getLong(1)));
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
        p.printf("%n%d documents written to %s (%d errors%s), %,d prompt tokens pre-filled in %.1f s%n",
                rows, output, errors, kinds(), tokens, seconds);
    }

    private String kinds() {
        if (errorsByKind == null || errorsByKind.isEmpty()) return "";
        StringBuilder b = new StringBuilder(":");
        errorsByKind.forEach((kind, n) -> b.append(b.length() > 1 ? ", " : " ").append(n).append(' ').append(kind));
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
