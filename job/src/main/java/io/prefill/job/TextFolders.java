package io.prefill.job;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.GlobFilter;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.is_valid_utf8;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

/**
 * A folder of text files, one document per file, its file name the id: read through Spark's
 * binaryFile source so that every file matching the extensions gives a row, an empty file included
 * (an empty_text row), and other files (notes.md, README) are not documents. The bytes must be
 * UTF-8; a file that is not is an unparseable row.
 */
final class TextFolders {
    private TextFolders() { }

    /** --text-extensions: comma-separated, without dots; errors name the option. */
    static List<String> extensions(String option) {
        List<String> out = new ArrayList<>();
        for (String e : option.split(",")) {
            String ext = e.trim().replaceFirst("^\\.", "");
            if (!ext.matches("[A-Za-z0-9_-]+")) {
                throw new IllegalArgumentException("option --text-extensions: '" + e.trim() + "' is not a file extension"
                        + " (comma-separated, e.g. txt,md)");
            }
            if (!out.contains(ext)) out.add(ext);
        }
        return List.copyOf(out);
    }

    /** Columns id, text and the input problem (null, or why the file's text could not be read). */
    static Dataset<Row> read(SparkSession spark, String input, List<String> extensions) {
        String glob = extensions.size() == 1 ? "*." + extensions.get(0) : "*.{" + String.join(",", extensions) + "}";
        Dataset<Row> files = spark.read().format("binaryFile").option("pathGlobFilter", glob).load(input);
        Column raw = col("content").cast("string");
        Column valid = is_valid_utf8(raw);
        Dataset<Row> withText = files.select(col("_metadata.file_name").as(CorpusReader.ID),
                when(valid, raw).as(CorpusReader.TEXT),
                when(not(valid), concat(col("path"), lit(" is not valid UTF-8 text"))).as(CorpusReader.INPUT_ERROR));
        // Spark's file sources make no row of a 0-byte file (it has no split): those are listed here
        return withText.unionByName(spark.createDataFrame(emptyFiles(spark, input, glob), withText.schema()));
    }

    /** Rows (name, "", null) for the 0-byte files the source reads: matching, not hidden, one level down. */
    private static List<Row> emptyFiles(SparkSession spark, String input, String glob) {
        List<Row> rows = new ArrayList<>();
        try {
            Path path = new Path(input);
            FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
            GlobFilter matches = new GlobFilter(glob);
            FileStatus[] roots = fs.globStatus(path);
            if (roots == null) return rows;
            for (FileStatus root : roots) {
                FileStatus[] files = root.isDirectory() ? fs.listStatus(root.getPath(), matches) : new FileStatus[] {root};
                for (FileStatus f : files) {
                    String name = f.getPath().getName();
                    if (f.isFile() && f.getLen() == 0 && matches.accept(f.getPath()) && !name.startsWith(".")
                            && !name.startsWith("_")) {
                        rows.add(RowFactory.create(name, "", null));
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list the text folder " + input + ": " + e.getMessage(), e);
        }
        return rows;
    }
}
