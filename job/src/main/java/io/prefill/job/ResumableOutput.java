package io.prefill.job;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.apache.spark.sql.functions.col;

/**
 * What {@code --write-mode resume} finds in an output: the ids of every committed row. A job that
 * died leaves its uncommitted work under {@code _temporary/} (Hadoop's file committer keeps task
 * output there until the job commits); it is removed, as the next commit would otherwise merge
 * the dead job's finished tasks into the output beside their redone documents. So is
 * {@code _SUCCESS}: the resumed job's last wave writes it again once the output is whole. One job
 * writes an output at a time. An output with no committed file yet (an empty directory, or only
 * a dead job's attempt files) means nothing is done: the job starts fresh.
 */
final class ResumableOutput {
    static final String ATTEMPTS = "_temporary";
    static final String SUCCESS = "_SUCCESS";

    private ResumableOutput() { }

    /** Removes a dead job's attempt files and returns the distinct ids already committed. */
    static Dataset<Row> committedIds(SparkSession spark, String output) {
        try {
            Path out = new Path(output);
            FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
            for (Path stale : new Path[]{new Path(out, ATTEMPTS), new Path(out, SUCCESS)}) {
                if (fs.exists(stale) && !fs.delete(stale, true)) {
                    throw new IOException("cannot remove " + stale + ", left by an earlier job");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + output + " for resuming: " + e.getMessage(), e);
        }
        // an explicit schema: no files to infer one from is an empty result, not UNABLE_TO_INFER_SCHEMA
        return spark.read().schema(CorpusReader.ID + " string").parquet(output).select(col(CorpusReader.ID)).distinct();
    }
}
