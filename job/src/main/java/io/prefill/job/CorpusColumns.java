package io.prefill.job;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;

import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.is_valid_utf8;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.when;

/**
 * The corpus's id, text and question columns, checked by type: each must be a string. Nothing is
 * cast: a number, a list or a struct turned into text ("[hello, world]", "NaN") would be pre-filled
 * or written as an id as if it were one. A binary text column is read only with --binary-text,
 * decoded as UTF-8; a value that is not UTF-8 is an unparseable row.
 */
final class CorpusColumns {
    /** A text column and, per row, why its text could not be read (null when it could). */
    record Text(Column text, Column problem) { }

    private CorpusColumns() { }

    static Column id(Dataset<Row> raw, JobOptions o) {
        return string(raw, o.idColumn(), "--id-column", o);
    }

    static Column question(Dataset<Row> raw, JobOptions o) {
        return string(raw, o.questionColumn(), "--question-column", o);
    }

    static Text text(Dataset<Row> raw, JobOptions o) {
        StructField f = field(raw, o.textColumn(), o);
        Column c = col("`" + f.name() + "`");
        if (f.dataType().equals(DataTypes.StringType)) return new Text(c, lit(null).cast("string"));
        if (f.dataType().equals(DataTypes.BinaryType)) {
            if (!o.binaryText()) {
                throw new IllegalArgumentException(wrongType(f, o) + "; give --binary-text to decode binary text as UTF-8");
            }
            Column decoded = c.cast("string");
            Column valid = is_valid_utf8(decoded);
            return new Text(when(valid, decoded), when(not(valid),
                    lit("column '" + f.name() + "' holds bytes that are not valid UTF-8 text")));
        }
        throw new IllegalArgumentException(wrongType(f, o) + "; documents must be strings");
    }

    private static Column string(Dataset<Row> raw, String name, String option, JobOptions o) {
        StructField f = field(raw, name, o);
        if (!f.dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException(wrongType(f, o) + "; it must be a string (cast it in the input, or set "
                    + option + ")");
        }
        return col("`" + f.name() + "`");
    }

    private static String wrongType(StructField f, JobOptions o) {
        DataType t = f.dataType();
        return "input " + o.input() + ": column '" + f.name() + "' is of type " + t.simpleString();
    }

    private static StructField field(Dataset<Row> raw, String name, JobOptions o) {
        List<String> columns = Arrays.asList(raw.columns());
        if (!columns.contains(name)) {
            columns = columns.stream().filter(c -> !c.equals(CorpusReader.INPUT_ERROR) && !c.equals(JsonLines.LOCATION)).toList();
            throw new IllegalArgumentException("input " + o.input() + " has no column '" + name + "'; its columns are "
                    + columns + " (set --id-column / --text-column / --question-column)");
        }
        return raw.schema().apply(name);
    }
}
