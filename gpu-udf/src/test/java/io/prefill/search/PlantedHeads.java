package io.prefill.search;

import io.prefill.sparse.BlockPlan;

import java.util.Random;

/**
 * Q/K/V of single heads whose attention follows a planted pattern, built from three channels:
 * a "constant" channel that gives chosen keys (sinks, planted columns) the same logit for every
 * query, a slowly rotating pair whose logit A(cos(w(i - j - o)) - 1) peaks sharply at distance o
 * (w = pi / n keeps it monotone over the prompt), and a block-position pair that does the same
 * on block indices. Values are random, so missing mass shows up in the output.
 */
final class PlantedHeads {
    static final int D = 16;

    private PlantedHeads() { }

    /** Sinks 0..3 and a local window (width ~sigma) around the diagonal. */
    static HeadInputs aShape(int n, long seed) {
        float[] q = new float[n * D], k = new float[n * D];
        for (int i = 0; i < n; i++) band(q, k, i, n, 0, 4.0);
        for (int j = 0; j < 4; j++) column(k, j, n, 1.0, q);
        return new HeadInputs(q, k, values(n, seed), n, D);
    }

    /** Planted columns scattered over the prompt plus a diagonal band at a far offset. */
    static HeadInputs verticalSlash(int n, int[] columns, int offset, long seed) {
        float[] q = new float[n * D], k = new float[n * D];
        for (int i = 0; i < n; i++) band(q, k, i, n, offset, 3.0);
        for (int c : columns) column(k, c, n, 1.0, q);
        return new HeadInputs(q, k, values(n, seed), n, D);
    }

    /** A diagonal band of Gaussian width sigma (in keys) at a far offset: many neighbouring diagonals, no columns. */
    static HeadInputs wideBand(int n, int offset, double sigma, long seed) {
        float[] q = new float[n * D], k = new float[n * D];
        for (int i = 0; i < n; i++) band(q, k, i, n, offset, sigma);
        return new HeadInputs(q, k, values(n, seed), n, D);
    }

    /** Query block b attends to the whole key block b / 2 (a far block, neither a column nor a diagonal). */
    static HeadInputs blockSparse(int n, long seed) {
        int blocks = BlockPlan.blocks(n);
        double w = Math.PI / blocks;
        double a = 2.0 * Math.sqrt(D) * 10 / (w * w); // logit -10 one block away from the target
        float[] q = new float[n * D], k = new float[n * D];
        for (int i = 0; i < n; i++) {
            int target = (i / 64) / 2;
            q[i * D + 4] = (float) (a * Math.cos(w * target));
            q[i * D + 5] = (float) (a * Math.sin(w * target));
            q[i * D + 6] = (float) -a;
            k[i * D + 4] = (float) Math.cos(w * (i / 64));
            k[i * D + 5] = (float) Math.sin(w * (i / 64));
            k[i * D + 6] = 1;
        }
        return new HeadInputs(q, k, values(n, seed), n, D);
    }

    /**
     * Channels 0-2: logit A(cos(w(i - j - o)) - 1) / sqrt(D), a bump of width ~sigma around
     * distance o, 0 at its peak and very negative far from it.
     */
    private static void band(float[] q, float[] k, int i, int n, int offset, double sigma) {
        double w = Math.PI / n;
        double a = Math.sqrt(D) / (sigma * sigma * w * w);
        q[i * D] = (float) (a * Math.cos(w * (i - offset)));
        q[i * D + 1] = (float) (a * Math.sin(w * (i - offset)));
        q[i * D + 2] = (float) -a;
        k[i * D] = (float) Math.cos(w * i);
        k[i * D + 1] = (float) Math.sin(w * i);
        k[i * D + 2] = 1;
    }

    /** Key j leaves the band and gets logit `logit` from every query through channel 3. */
    private static void column(float[] k, int j, int n, double logit, float[] q) {
        k[j * D] = 0;
        k[j * D + 1] = 0;
        k[j * D + 2] = 0;
        k[j * D + 3] = (float) (logit * Math.sqrt(D));
        for (int i = 0; i < n; i++) q[i * D + 3] = 1;
    }

    private static float[] values(int n, long seed) {
        Random random = new Random(seed);
        float[] v = new float[n * D];
        for (int t = 0; t < v.length; t++) v[t] = (float) random.nextGaussian();
        return v;
    }
}
