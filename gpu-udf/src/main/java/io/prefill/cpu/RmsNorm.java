package io.prefill.cpu;

import java.util.stream.IntStream;

/** RMSNorm over the last dimension: x / sqrt(mean(x^2) + eps) * weight. */
final class RmsNorm {
    private RmsNorm() { }

    static float[] apply(float[] x, int n, int dim, float[] weight, double eps) {
        float[] y = new float[n * dim];
        IntStream.range(0, n).parallel().forEach(t -> normalizeRow(x, t * dim, dim, weight, eps, y, t * dim));
        return y;
    }

    static void normalizeRow(float[] x, int off, int dim, float[] weight, double eps, float[] y, int yOff) {
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += (double) x[off + i] * x[off + i];
        float inv = (float) (1.0 / Math.sqrt(ss / dim + eps));
        for (int i = 0; i < dim; i++) y[yOff + i] = x[off + i] * inv * weight[i];
    }
}
