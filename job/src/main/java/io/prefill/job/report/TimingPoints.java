package io.prefill.job.report;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/** Pre-fill time against prompt length for the scatter chart, sampled so a huge output stays drawable. */
public final class TimingPoints {
    /** More points than this make an unreadable blot and a slow chart; a uniform sample shows the same shape. */
    static final int MAX_POINTS = 20_000;

    /** One document: its series, pre-filled tokens and time. */
    public record Point(String series, int tokens, double ms) { }

    private TimingPoints() { }

    public static List<Point> of(Dataset<Row> out) {
        Dataset<Row> ok = FirstTokenOutput.succeeded(out)
                // Tokens actually pre-filled: what the time depends on when a length policy cut the prompt.
                .select(col(FirstTokenOutput.SERIES), col("prompt_tokens").minus(col("dropped_tokens")), col("prefill_ms"));
        long n = ok.count();
        if (n > MAX_POINTS) ok = ok.sample(false, Math.min(1.0, 1.2 * MAX_POINTS / n), 17L).limit(MAX_POINTS);
        List<Point> points = new ArrayList<>();
        for (Row r : ok.collectAsList()) points.add(new Point(r.getString(0), r.getInt(1), r.getDouble(2)));
        return points;
    }
}
