package io.prefill.cpu;

/**
 * Brute-force attention of one head under an arbitrary mask: every (i, j) is visited, masked
 * entries get -infinity. Deliberately naive and independent of {@link PlanAttention}, so the two
 * can check each other.
 */
public final class AttentionReference {
    private AttentionReference() { }

    /** Whether query i may attend to key j; the causal mask (j <= i) is applied on top. */
    @FunctionalInterface
    public interface Mask {
        boolean allows(int query, int key);
    }

    /** Dense causal attention. */
    public static void causal(float[] q, float[] k, float[] v, int n, int d, float[] out) {
        masked(q, k, v, n, d, (i, j) -> true, out);
    }

    /**
     * out[n, d] = softmax over keys j <= i with mask(i, j) of q_i . k_j / sqrt(d), times v.
     *
     * @throws IllegalArgumentException if a row has no allowed key
     */
    public static void masked(float[] q, float[] k, float[] v, int n, int d, Mask mask, float[] out) {
        checkShapes(q, k, v, n, d, out);
        double scale = 1.0 / Math.sqrt(d);
        double[] logits = new double[n];
        double[] weights = new double[n];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                logits[j] = j <= i && mask.allows(i, j) ? dot(q, i, k, j, d) * scale : Double.NEGATIVE_INFINITY;
                max = Math.max(max, logits[j]);
            }
            if (max == Double.NEGATIVE_INFINITY) throw new IllegalArgumentException("mask gives query row " + i + " no key");
            double normaliser = 0;
            for (int j = 0; j < n; j++) {
                weights[j] = Math.exp(logits[j] - max);
                normaliser += weights[j];
            }
            for (int c = 0; c < d; c++) {
                double sum = 0;
                for (int j = 0; j < n; j++) sum += weights[j] * v[j * d + c];
                out[i * d + c] = (float) (sum / normaliser);
            }
        }
    }

    static double dot(float[] a, int row, float[] b, int otherRow, int d) {
        double sum = 0;
        for (int c = 0; c < d; c++) sum += (double) a[row * d + c] * b[otherRow * d + c];
        return sum;
    }

    static void checkShapes(float[] q, float[] k, float[] v, int n, int d, float[] out) {
        long size = (long) n * d;
        if (n < 0 || d < 1) throw new IllegalArgumentException("need n >= 0 and d >= 1, got n=" + n + ", d=" + d);
        if (q.length < size || k.length < size || v.length < size || out.length < size) {
            throw new IllegalArgumentException("q, k, v and out need n*d=" + size + " floats, got "
                + q.length + ", " + k.length + ", " + v.length + ", " + out.length);
        }
    }
}
