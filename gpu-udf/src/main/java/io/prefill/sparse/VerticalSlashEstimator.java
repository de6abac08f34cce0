package io.prefill.sparse;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * MInference's online vertical-slash estimate for one query head (docs/minference.md): attention
 * of the last 64 queries over all keys says which key columns and which diagonals matter.
 *
 * <p>Numerics, which the GPU estimate kernel follows: logits q.k / sqrt(d) are rounded to float32
 * (dot products accumulate in double), each row's softmax is normalised in double and stored as
 * float32 probabilities, and the vertical and slash scores are float32 sums taken over the last
 * queries in ascending row order. Selection uses {@link TopK}: ties go to the smaller column or
 * the smaller offset (the nearer diagonal). Forced entries score +infinity, so with the minimum
 * slash budget of 50 the forced offsets that fit are 0..49, the nearest, main diagonal included.
 * MInference keeps 50..99 there (torch.topk's order among equal scores); we keep every row's own
 * key on purpose (pattern-configs/README.md, "Where we differ"). Budgets >= 100 agree.
 */
public final class VerticalSlashEstimator {
    /** Queries the estimate looks at: the last ones, which see the whole prompt. */
    public static final int LAST_QUERIES = 64;
    /** Key columns always kept (attention sinks at the start of the prompt). */
    public static final int FORCED_COLUMNS = 30;
    /** Diagonals always kept: offsets 0..99, the local window. */
    public static final int FORCED_OFFSETS = 100;
    /** The smallest vertical budget (columns) a head keeps, whatever its config says. */
    public static final int MIN_VERTICAL = 30;
    /** The smallest slash budget (diagonals) a head keeps, whatever its config says. */
    public static final int MIN_SLASH = 50;

    private VerticalSlashEstimator() { }

    /** Columns a head with this vertical_size keeps at n tokens: clamped to [MIN_VERTICAL, n]. */
    public static int verticalBudget(int verticalSize, int n) { return Math.min(Math.max(verticalSize, MIN_VERTICAL), n); }

    /** Diagonals a head with this slash_size keeps at n tokens: clamped to [MIN_SLASH, n]. */
    public static int slashBudget(int slashSize, int n) { return Math.min(Math.max(slashSize, MIN_SLASH), n); }

    /** Raw scores before forcing: vertical[j] for key column j, slash[o] for offset o, both length n. */
    public record Scores(float[] vertical, float[] slash) { }

    /** Estimate and select: the columns and offsets a vertical-slash head computes for this input. */
    public static VerticalSlashIndex estimate(float[] q, float[] k, int n, int d, int verticalSize, int slashSize) {
        return select(scores(q, k, n, d), n, verticalSize, slashSize);
    }

    /**
     * The adaptive head's choice: budgets from the estimate's mass ({@link #massBudget}), then the
     * same selection as a fixed vertical-slash head with those budgets.
     */
    public static VerticalSlashIndex estimateAdaptive(float[] q, float[] k, int n, int d, HeadPattern.Adaptive a) {
        return selectAdaptive(scores(q, k, n, d), n, a);
    }

    /** The adaptive head's selection from scores already estimated (the pattern search tries many gammas on one estimate). */
    public static VerticalSlashIndex selectAdaptive(Scores s, int n, HeadPattern.Adaptive a) {
        return select(s, n, massBudget(s.vertical(), n, FORCED_COLUMNS, a), massBudget(s.slash(), n, FORCED_OFFSETS, a));
    }

    /**
     * The fewest entries of {@code scores[0, n)} whose sum reaches gamma of the total: the first
     * {@code forced} entries (kept anyway) count first, then the rest in descending order; held
     * within [minBudget, maxBudget] and at most n. Sums in double.
     */
    public static int massBudget(float[] scores, int n, int forced, HeadPattern.Adaptive a) {
        int f = Math.min(forced, n);
        double total = 0;
        for (int j = 0; j < n; j++) total += scores[j];
        double kept = 0;
        for (int j = 0; j < f; j++) kept += scores[j];
        float[] rest = Arrays.copyOfRange(scores, f, n);
        Arrays.sort(rest);
        int count = f;
        for (int t = rest.length - 1; t >= 0 && kept < a.gamma() * total; t--) {
            kept += rest[t];
            count++;
        }
        return Math.min(n, Math.max(a.minBudget(), Math.min(a.maxBudget(), count)));
    }

    /**
     * Probability mass of the last min(64, n) queries per key column and per diagonal. Query row
     * i = n - last + r sees keys 0..i (the causal mask of the last corner).
     */
    public static Scores scores(float[] q, float[] k, int n, int d) {
        checkShapes(q, k, n, d);
        int last = Math.min(LAST_QUERIES, n);
        int first = n - last;
        // Rows are independent: softmax them in parallel (last x n floats), then sum in row order
        // so the result does not depend on thread scheduling.
        float[][] probabilities = new float[last][];
        IntStream.range(0, last).parallel().forEach(r -> probabilities[r] = softmaxRow(q, k, first + r, d));
        float[] vertical = new float[n];
        float[] slash = new float[n];
        for (int r = 0; r < last; r++) {
            int i = first + r;
            float[] p = probabilities[r];
            for (int j = 0; j <= i; j++) {
                vertical[j] += p[j];
                slash[i - j] += p[j];
            }
        }
        return new Scores(vertical, slash);
    }

    /**
     * Forces columns 0..29 and offsets 0..99 in, clamps the budgets to [30, n] and [50, n], and
     * keeps the top columns and offsets.
     */
    public static VerticalSlashIndex select(Scores scores, int n, int verticalSize, int slashSize) {
        int verticalBudget = verticalBudget(verticalSize, n);
        int slashBudget = slashBudget(slashSize, n);
        float[] vertical = scores.vertical().clone();
        float[] slash = scores.slash().clone();
        for (int j = 0; j < Math.min(FORCED_COLUMNS, n); j++) vertical[j] = Float.POSITIVE_INFINITY;
        for (int o = 0; o < Math.min(FORCED_OFFSETS, n); o++) slash[o] = Float.POSITIVE_INFINITY;
        return new VerticalSlashIndex(TopK.select(vertical, n, verticalBudget), TopK.select(slash, n, slashBudget));
    }

    /** softmax over keys 0..i of q_i . k_j / sqrt(d), as float32 probabilities. */
    static float[] softmaxRow(float[] q, float[] k, int i, int d) {
        double scale = 1.0 / Math.sqrt(d);
        float[] logits = new float[i + 1];
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double) q[i * d + c] * k[j * d + c];
            logits[j] = (float) (dot * scale);
            max = Math.max(max, logits[j]);
        }
        double sum = 0;
        double[] weights = new double[i + 1];
        for (int j = 0; j <= i; j++) {
            weights[j] = Math.exp(logits[j] - max);
            sum += weights[j];
        }
        float[] p = new float[i + 1];
        for (int j = 0; j <= i; j++) p[j] = (float) (weights[j] / sum);
        return p;
    }

    static void checkShapes(float[] q, float[] k, int n, int d) {
        if (n < 1 || d < 1) throw new IllegalArgumentException("need n >= 1 and d >= 1, got n=" + n + ", d=" + d);
        if (q.length < (long) n * d || k.length < (long) n * d) {
            throw new IllegalArgumentException("q and k need n*d=" + (long) n * d + " floats, got "
                + q.length + " and " + k.length);
        }
    }
}
