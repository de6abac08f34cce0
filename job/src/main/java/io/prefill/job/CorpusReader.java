package io.prefill.job;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

/**
 * Reads the corpus into (id, text, question, input error) whatever its format; missing columns
 * and columns of the wrong type fail fast. A row whose text could not be read (a JSON line that is
 * not a JSON object, bytes that are not UTF-8) has a null text and its input error set, and
 * becomes an {@code unparseable} error row.
 */
final class CorpusReader {
    static final String ID = "id";
    static final String TEXT = "text";
    static final String QUESTION = "question";
    /** Why the row's text could not be read, or null. */
    static final String INPUT_ERROR = "_input_error";

    private CorpusReader() { }

    static Dataset<Row> read(SparkSession spark, JobOptions o) {
        Dataset<Row> raw;
        Column id;
        Column text;
        Column problem;
        switch (o.inputFormat()) {
            case TEXT:
                // One document per file; the file name is its id.
                raw = TextFolders.read(spark, o.input(), o.textExtensions());
                id = col(ID);
                text = col(TEXT);
                problem = col(INPUT_ERROR);
                break;
            case JSONL: {
                List<String> wanted = new ArrayList<>(List.of(o.idColumn(), o.textColumn()));
                if (o.questionColumn() != null) wanted.add(o.questionColumn());
                raw = JsonLines.read(spark, o.input(), wanted);
                problem = col(INPUT_ERROR);
                // a line that could not be parsed has no id of its own: its file and line stand in
                id = when(problem.isNull(), CorpusColumns.id(raw, o)).otherwise(col(JsonLines.LOCATION));
                CorpusColumns.Text t = CorpusColumns.text(raw, o);
                text = when(problem.isNull(), t.text());
                problem = when(problem.isNull(), t.problem()).otherwise(problem);
                break;
            }
            case PARQUET:
            default: {
                raw = spark.read().parquet(o.input());
                id = CorpusColumns.id(raw, o);
                CorpusColumns.Text t = CorpusColumns.text(raw, o);
                text = t.text();
                problem = t.problem();
                break;
            }
        }
        Column question = o.questionColumn() != null ? CorpusColumns.question(raw, o)
                : o.question() != null ? lit(o.question()) : lit(null).cast("string");
        return raw.select(id.as(ID), text.as(TEXT), question.as(QUESTION), problem.as(INPUT_ERROR));
    }
}
