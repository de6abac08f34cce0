package io.prefill.engine;

import java.util.Arrays;

/** Log-softmax over the vocabulary and the k most likely tokens, best first (ties: smaller id). */
public final class TokenLogprobs {
    private TokenLogprobs() { }

    /** Log-probabilities of logits, computed in double for a stable log-sum-exp. */
    public static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float z : logits) max = Math.max(max, z);
        double sum = 0;
        for (float z : logits) sum += Math.exp(z - max);
        double logSum = Math.log(sum);
        double[] out = new double[logits.length];
        // (z - max) first: adding max back would lose log(sum) when the logits are huge.
        for (int i = 0; i < logits.length; i++) out[i] = (logits[i] - max) - logSum;
        return out;
    }

    /**
     * Null when every logit is finite; otherwise what is wrong with them. NaN or infinite logits
     * (a NaN weight, an overflowed activation) would give a NaN log-probability and an arbitrary
     * first token that look like a result.
     */
    public static String nonFinite(float[] logits) {
        int nan = 0;
        int infinite = 0;
        int first = -1;
        for (int i = 0; i < logits.length; i++) {
            float z = logits[i];
            if (Float.isFinite(z)) continue;
            if (Float.isNaN(z)) nan++; else infinite++;
            if (first < 0) first = i;
        }
        if (first < 0) return null;
        return "the model produced non-finite logits at the last position (" + nan + " NaN and " + infinite
                + " infinite of " + logits.length + ", the first at token id " + first + "): a weight is NaN or"
                + " infinite, or an activation overflowed";
    }

    /** Indices of the k largest values, largest first; ties go to the smaller index. */
    public static int[] largest(double[] values, int k) {
        int m = Math.min(k, values.length);
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> values[a] != values[b] ? Double.compare(values[b], values[a]) : Integer.compare(a, b));
        int[] top = new int[m];
        for (int i = 0; i < m; i++) top[i] = order[i];
        return top;
    }
}
