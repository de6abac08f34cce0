package io.prefill.job;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/** Reads the corpus into (id, text, question) whatever its format; missing columns fail fast. */
final class CorpusReader {
    static final String ID = "id";
    static final String TEXT = "text";
    static final String QUESTION = "question";

    private CorpusReader() { }

    static Dataset<Row> read(SparkSession spark, JobOptions o) {
        Dataset<Row> raw;
        Column id;
        Column text;
        switch (o.inputFormat()) {
            case TEXT:
                // One document per file; the file name is its id.
                raw = spark.read().option("wholetext", true).text(o.input());
                id = col("_metadata.file_name");
                text = col("value");
                break;
            case JSONL:
                raw = spark.read().json(o.input());
                id = requireColumn(raw, o.idColumn(), o);
                text = requireColumn(raw, o.textColumn(), o);
                break;
            case PARQUET:
            default:
                raw = spark.read().parquet(o.input());
                id = requireColumn(raw, o.idColumn(), o);
                text = requireColumn(raw, o.textColumn(), o);
                break;
        }
        Column question = o.questionColumn() != null ? requireColumn(raw, o.questionColumn(), o)
                : o.question() != null ? lit(o.question()) : lit(null);
        return raw.select(id.cast(DataTypes.StringType).as(ID), text.cast(DataTypes.StringType).as(TEXT),
                question.cast(DataTypes.StringType).as(QUESTION));
    }

    private static Column requireColumn(Dataset<Row> raw, String name, JobOptions o) {
        List<String> columns = Arrays.asList(raw.columns());
        if (!columns.contains(name)) {
            throw new IllegalArgumentException("input " + o.input() + " has no column '" + name + "'; its columns are "
                    + columns + " (set --id-column / --text-column / --question-column)");
        }
        return col("`" + name + "`");
    }
}
