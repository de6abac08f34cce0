package io.prefill.job;

import io.prefill.engine.DocumentException;
import org.apache.spark.sql.Column;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.transform;
import static org.apache.spark.sql.functions.when;

/**
 * Rows whose input could not be read reach the pre-fill function with a null text (an instant
 * error, no pre-fill); their error columns are then replaced by the reader's: error_kind
 * {@code unparseable} and the reader's message, in the first-token row and in every KV row.
 */
final class InputErrors {
    static final String KIND = DocumentException.Kind.UNPARSEABLE.label();

    private InputErrors() { }

    /** A first-token result struct (OutputSchema.RESULT) with the input's error where it has one. */
    static Column firstToken(Column result) {
        Column problem = col(CorpusReader.INPUT_ERROR);
        return result.withField("error_kind", when(problem.isNotNull(), lit(KIND)).otherwise(result.getField("error_kind")))
                .withField("error", coalesce(problem, result.getField("error")));
    }

    /** The KV function's struct (first, kv): both parts with the input's error where it has one. */
    static Column withKv(Column result) {
        Column problem = col(CorpusReader.INPUT_ERROR);
        return result.withField("first", firstToken(result.getField("first")))
                .withField("kv", transform(result.getField("kv"), row -> row
                        .withField("error_kind", when(problem.isNotNull(), lit(KIND)).otherwise(row.getField("error_kind")))
                        .withField("error", coalesce(problem, row.getField("error")))));
    }
}
