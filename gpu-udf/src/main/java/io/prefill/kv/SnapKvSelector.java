package io.prefill.kv;

import java.util.Arrays;

/**
 * Picks the positions of one layer and KV head to keep, in the manner of SnapKV: the last
 * {@code window} queries of the prompt (every query head of the GQA group) vote with their causal
 * attention probabilities; the votes are smoothed by a 1-D pooling filter so that neighbours of a
 * strong position come along (it keeps phrases, not isolated tokens); the top-k prefix positions
 * win. Sinks and the window itself are always kept. The CUDA backend must select the same way.
 */
public final class SnapKvSelector {
    private final KvSummaryOptions options;

    public SnapKvSelector(KvSummaryOptions options) { this.options = options; }

    /**
     * @param qHeads query heads of the group, each [n, d] row-major, after RoPE
     * @param k      the group's keys [n, d] row-major, after RoPE
     * @return kept positions, ascending
     */
    public int[] select(float[][] qHeads, float[] k, int n, int d) {
        if (n <= (long) options.sinkTokens() + options.topK() + options.window()) {
            return identity(n);
        }
        int w = Math.min(options.window(), n);
        int prefixEnd = n - w; // positions [0, prefixEnd) compete; the window is kept anyway
        double[] votes = votes(qHeads, k, n, d, prefixEnd);
        double[] pooled = pool(votes, options.poolKernel(), options.pooling());
        int sinks = Math.min(options.sinkTokens(), prefixEnd);
        int[] winners = topPositions(pooled, sinks, prefixEnd, options.topK());
        int[] kept = new int[sinks + winners.length + w];
        int c = 0;
        for (int p = 0; p < sinks; p++) kept[c++] = p;
        for (int p : winners) kept[c++] = p;
        for (int p = prefixEnd; p < n; p++) kept[c++] = p;
        Arrays.sort(kept);
        return kept;
    }

    /** Attention probabilities of the window's queries on the prefix keys, summed over queries and heads. */
    static double[] votes(float[][] qHeads, float[] k, int n, int d, int prefixEnd) {
        double[] votes = new double[prefixEnd];
        double scale = 1.0 / Math.sqrt(d);
        double[] logits = new double[n];
        for (float[] q : qHeads) {
            for (int i = prefixEnd; i < n; i++) {
                // The softmax runs over every causal key (prefix and window) so probabilities are the
                // ones the model used; only the prefix's share is voted.
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double s = 0;
                    for (int c = 0; c < d; c++) s += (double) q[i * d + c] * k[j * d + c];
                    logits[j] = s * scale;
                    max = Math.max(max, logits[j]);
                }
                double normaliser = 0;
                for (int j = 0; j <= i; j++) {
                    logits[j] = Math.exp(logits[j] - max);
                    normaliser += logits[j];
                }
                for (int j = 0; j < prefixEnd; j++) votes[j] += logits[j] / normaliser;
            }
        }
        return votes;
    }

    /** Centred 1-D max or average filter; the window shrinks at the edges (no padding values). */
    static double[] pool(double[] x, int kernel, KvSummaryOptions.Pooling pooling) {
        if (kernel == 1) return x.clone();
        int half = kernel / 2;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int lo = Math.max(0, i - half);
            int hi = Math.min(x.length - 1, i + half);
            double acc = pooling == KvSummaryOptions.Pooling.MAX ? Double.NEGATIVE_INFINITY : 0;
            for (int j = lo; j <= hi; j++) acc = pooling == KvSummaryOptions.Pooling.MAX ? Math.max(acc, x[j]) : acc + x[j];
            y[i] = pooling == KvSummaryOptions.Pooling.MAX ? acc : acc / (hi - lo + 1);
        }
        return y;
    }

    /** The k highest scores in [from, to); ties go to the earlier position, so selection is reproducible. */
    static int[] topPositions(double[] score, int from, int to, int k) {
        int m = Math.min(k, to - from);
        if (m <= 0) return new int[0];
        Integer[] order = new Integer[to - from];
        for (int i = 0; i < order.length; i++) order[i] = from + i;
        Arrays.sort(order, (a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(a, b));
        int[] top = new int[m];
        for (int i = 0; i < m; i++) top[i] = order[i];
        return top;
    }

    private static int[] identity(int n) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        return all;
    }
}
