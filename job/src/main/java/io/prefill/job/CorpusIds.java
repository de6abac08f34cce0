package io.prefill.job;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * Every input row needs an id of its own: the output has one row per input row, found by its id,
 * and --write-mode resume skips the ids already written, so a null or repeated id would lose rows
 * (a resumed job would take the second "d1" for done). Such a corpus is refused before any work,
 * with the offending ids listed (the first {@value #LISTED}).
 */
final class CorpusIds {
    static final int LISTED = 10;
    private static final String COUNT = "count";

    private CorpusIds() { }

    static void check(Dataset<Row> corpus, JobOptions o) {
        Dataset<Row> bad = corpus.groupBy(col(CorpusReader.ID)).count()
                .filter(col(CorpusReader.ID).isNull().or(col(COUNT).gt(1)));
        List<Row> first = bad.orderBy(col(CorpusReader.ID).asc_nulls_first()).limit(LISTED + 1).collectAsList();
        if (first.isEmpty()) return;
        long nulls = 0;
        List<String> repeated = new ArrayList<>();
        for (Row r : first) {
            if (r.isNullAt(0)) nulls = r.getLong(1);
            else if (repeated.size() < LISTED) repeated.add(r.getString(0) + " (" + r.getLong(1) + " rows)");
        }
        long repeatedIds = repeated.isEmpty() ? 0 : bad.filter(col(CorpusReader.ID).isNotNull()).count();
        List<String> parts = new ArrayList<>();
        if (nulls > 0) parts.add(nulls + " row" + (nulls == 1 ? "" : "s") + " with a null id");
        if (repeatedIds > 0) {
            parts.add(repeatedIds + " id" + (repeatedIds == 1 ? "" : "s") + " on more than one row: " + String.join(", ", repeated)
                    + (repeatedIds > repeated.size() ? ", ..." : ""));
        }
        String ids = o.inputFormat() == JobOptions.InputFormat.TEXT ? "ids: file names" : "id column '" + o.idColumn() + "'";
        throw new IllegalArgumentException("input " + o.input() + " (" + ids + ") has "
                + String.join(" and ", parts) + ". Every row needs its own id: the output has one row per id, and"
                + " --write-mode resume skips ids already written. Give each row a unique id or choose another --id-column.");
    }
}
