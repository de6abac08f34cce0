package io.prefill.job.report;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;

/**
 * Attention density per document in equal-width bins between the smallest and largest density,
 * counted in Spark so that only the bins reach the driver. Densities of a real run sit within a
 * few percent, so bins over [0, 1] would put every document in the first one.
 */
public record DensityHistogram(double lo, double hi, long[] counts, double median) {
    static final int BINS = 20;

    public double binWidth() { return (hi - lo) / counts.length; }

    public long documents() {
        long n = 0;
        for (long c : counts) n += c;
        return n;
    }

    public static DensityHistogram of(Dataset<Row> out) {
        Dataset<Row> d = FirstTokenOutput.succeeded(out).filter(col("attention_density").isNotNull())
                .select(col("attention_density").as("d"));
        Row b = d.agg(min("d"), max("d"), count(lit(1)), expr("percentile(d, 0.5)")).first();
        long[] counts = new long[BINS];
        if (b.getLong(2) == 0) return new DensityHistogram(0, 1, counts, Double.NaN);
        double lo = b.getDouble(0);
        // One density (or all equal): a narrow range around it still draws one visible bar.
        double hi = Math.max(b.getDouble(1), lo + 1e-3);
        double width = (hi - lo) / BINS;
        for (Row r : d.select(expr("least(CAST(floor((d - " + lo + ") / " + width + ") AS INT), " + (BINS - 1) + ")").as("bin"))
                .groupBy("bin").count().collectAsList()) {
            counts[r.getInt(0)] = r.getLong(1);
        }
        return new DensityHistogram(lo, hi, counts, b.getDouble(3));
    }
}
