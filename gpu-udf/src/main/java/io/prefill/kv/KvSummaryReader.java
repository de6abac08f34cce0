package io.prefill.kv;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.List;

import static org.apache.spark.sql.functions.col;

/** Loads one document's KV summary back from the job's KV Parquet output. */
public final class KvSummaryReader {
    private KvSummaryReader() { }

    /** @throws IllegalArgumentException when the id is absent or its row is an error row */
    public static KvSummary read(SparkSession spark, String path, String documentId) {
        List<Row> rows = spark.read().parquet(path).where(col("id").equalTo(documentId)).collectAsList();
        return KvSummaryRows.fromRows(rows, "document '" + documentId + "' in " + path);
    }

    /** The summary as a cache a decode step can attend over. */
    public static KvCache readCache(SparkSession spark, String path, String documentId) {
        return KvCache.of(read(spark, path, documentId));
    }
}
