package io.prefill.job.report;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.Arrays;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;

/** Reads the job's first-token Parquet output for the report. */
public final class FirstTokenOutput {
    /** Column added on reading: what timings are grouped by. */
    public static final String SERIES = "series";
    /**
     * A run-mode column (e.g. sparse vs dense pre-fill) that later job versions may write; when an
     * output has it, timings are compared per backend and mode instead of per backend only.
     */
    public static final String MODE = "mode";

    private FirstTokenOutput() { }

    /** The output with a {@value #SERIES} column: "cpu", or "cuda / dense" when a mode column exists. */
    public static Dataset<Row> read(SparkSession spark, String path) {
        Dataset<Row> out = spark.read().parquet(path);
        return out.withColumn(SERIES, series(out));
    }

    static Column series(Dataset<Row> out) {
        boolean hasMode = Arrays.asList(out.columns()).contains(MODE);
        // concat_ws skips nulls, so rows without a mode still get their backend alone.
        return hasMode ? concat_ws(" / ", col("backend"), col(MODE)) : col("backend");
    }

    /** Rows that carry a first token (no error). */
    static Dataset<Row> succeeded(Dataset<Row> out) {
        return out.filter(col("error").isNull());
    }
}
