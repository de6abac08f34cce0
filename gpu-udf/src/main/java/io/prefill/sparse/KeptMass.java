package io.prefill.sparse;

import java.util.stream.IntStream;

/**
 * How much of a head's attention its plan keeps, where the estimate looks: for each of the last
 * min(64, n) queries (the rows the vertical-slash estimate scores, the last of which makes the
 * first token), the dense softmax probability of the keys the plan computes, averaged over those
 * rows. 1 for a dense plan; a plan that drops a key the last queries attend to keeps less.
 */
public final class KeptMass {
    private KeptMass() { }

    /** The mean kept probability over the last queries (softmax as the estimate computes it). */
    public static double ofLastQueries(float[] q, float[] k, int n, int d, BlockPlan plan) {
        VerticalSlashEstimator.checkShapes(q, k, n, d);
        if (plan.seqLen() != n) throw new IllegalArgumentException("plan of " + plan.seqLen() + " tokens for " + n);
        int last = Math.min(VerticalSlashEstimator.LAST_QUERIES, n);
        double[] kept = new double[last];
        IntStream.range(0, last).parallel().forEach(r -> {
            int i = n - last + r;
            float[] p = VerticalSlashEstimator.softmaxRow(q, k, i, d);
            double sum = 0;
            for (int j = 0; j <= i; j++) if (plan.contains(i, j)) sum += p[j];
            kept[r] = sum;
        });
        double total = 0;
        for (double x : kept) total += x;
        return total / last;
    }
}
