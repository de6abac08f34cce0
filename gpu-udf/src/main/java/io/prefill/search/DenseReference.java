package io.prefill.search;

import io.prefill.cpu.PlanAttention;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.RangePlan;

import java.util.stream.IntStream;

/**
 * A head's dense attention, against which candidate plans are scored: the dense output (for the
 * relative L2 error, over every row or over the last query block) and the dense softmax of a sample of
 * rows (for the recall of attention mass).
 */
public final class DenseReference {
    private final HeadInputs in;
    private final float[] denseOut;
    private final double denseNorm;
    private final int firstScored;
    private final int[] sampleRows;
    private final double[][] probabilities;

    public DenseReference(HeadInputs in, int recallRows) {
        this(in, recallRows, SearchOptions.ScoredRows.ALL);
    }

    public DenseReference(HeadInputs in, int recallRows, SearchOptions.ScoredRows scored) {
        this.in = in;
        this.denseOut = attend(RangePlan.dense(in.n()));
        this.firstScored = firstScoredRow(in.n(), scored) * in.d();
        this.denseNorm = Math.sqrt(sumSquares(denseOut, null, firstScored));
        this.sampleRows = sampleRows(in.n(), recallRows);
        this.probabilities = new double[sampleRows.length][];
        IntStream.range(0, sampleRows.length).parallel().forEach(r -> probabilities[r] = softmaxRow(sampleRows[r]));
    }

    /** ||out(plan) - out(dense)|| / ||out(dense)|| over the scored rows, every channel. */
    public double relativeError(BlockPlan plan) {
        float[] out = attend(plan);
        double diff = Math.sqrt(sumSquares(out, denseOut, firstScored));
        return denseNorm == 0 ? diff : diff / denseNorm;
    }

    /** Dense softmax probability that lands inside the plan, averaged over the sampled rows. */
    public double recall(BlockPlan plan) {
        double total = 0;
        for (int r = 0; r < sampleRows.length; r++) {
            int i = sampleRows[r];
            double inside = 0;
            for (int j = 0; j <= i; j++) if (plan.contains(i, j)) inside += probabilities[r][j];
            total += inside;
        }
        return total / sampleRows.length;
    }

    private float[] attend(BlockPlan plan) {
        float[] out = new float[in.n() * in.d()];
        PlanAttention.attend(in.q(), in.k(), in.v(), in.n(), in.d(), plan, out);
        return out;
    }

    private double[] softmaxRow(int i) {
        int d = in.d();
        double scale = 1.0 / Math.sqrt(d);
        double[] p = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double) in.q()[i * d + c] * in.k()[j * d + c];
            p[j] = dot * scale;
            max = Math.max(max, p[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) { p[j] = Math.exp(p[j] - max); sum += p[j]; }
        for (int j = 0; j <= i; j++) p[j] /= sum;
        return p;
    }

    /** The first row whose output error scores a candidate: 0, or the start of the last query block. */
    public static int firstScoredRow(int n, SearchOptions.ScoredRows scored) {
        return scored == SearchOptions.ScoredRows.LAST_BLOCK ? Math.max(0, (n - 1) / BlockPlan.BLOCK * BlockPlan.BLOCK) : 0;
    }

    /** Evenly spaced rows, always including the last (the row that sees the whole prompt). */
    public static int[] sampleRows(int n, int count) {
        int m = Math.max(1, Math.min(count, n));
        int[] rows = new int[m];
        for (int r = 0; r < m; r++) rows[r] = (int) ((long) (n - 1) * (r + 1) / m);
        return rows;
    }

    private static double sumSquares(float[] a, float[] minus, int from) {
        double sum = 0;
        for (int t = from; t < a.length; t++) {
            double x = minus == null ? a[t] : (double) a[t] - minus[t];
            sum += x * x;
        }
        return sum;
    }
}
