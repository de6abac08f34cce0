package io.prefill.cpu;

import io.prefill.sparse.BlockPlan;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Causal softmax attention of one head over exactly the entries of a plan: the readable
 * specification the CUDA kernels are checked against.
 *
 * <p>Per query row i: the keys are j <= i from the block's ranges, then its leftover columns;
 * logits q_i . k_j / sqrt(d) (dot products in double); a two-pass softmax (max, then exp-sum and
 * the weighted sum of V rows, in double); out_i = sum / normaliser, stored as float32. Query blocks
 * run in parallel; each row is computed by one thread in a fixed order, so results are
 * reproducible.
 */
public final class PlanAttention {
    private PlanAttention() { }

    /**
     * out[n, d] = softmax(q k^T / sqrt(d), restricted to plan) v, all [n, d] row-major.
     *
     * @throws IllegalArgumentException if shapes disagree or a row of the plan has no key
     */
    public static void attend(float[] q, float[] k, float[] v, int n, int d, BlockPlan plan, float[] out) {
        AttentionReference.checkShapes(q, k, v, n, d, out);
        if (plan.seqLen() != n) throw new IllegalArgumentException("plan is for n=" + plan.seqLen() + ", input has n=" + n);
        IntStream.range(0, plan.numQueryBlocks()).parallel()
            .forEach(b -> attendBlock(q, k, v, n, d, plan, b, out));
    }

    private static void attendBlock(float[] q, float[] k, float[] v, int n, int d, BlockPlan plan, int b, float[] out) {
        int r0 = b * BlockPlan.BLOCK;
        int r1 = Math.min(r0 + BlockPlan.BLOCK, n);
        int[] ranges = plan.ranges(b);
        int[] columns = plan.columns(b);
        int[] keys = new int[r1];
        double[] logits = new double[r1];
        double[] acc = new double[d];
        double scale = 1.0 / Math.sqrt(d);
        for (int i = r0; i < r1; i++) {
            int count = keysOfRow(i, ranges, columns, keys);
            if (count == 0) throw new IllegalArgumentException("plan gives query row " + i + " no key");
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < count; t++) {
                logits[t] = AttentionReference.dot(q, i, k, keys[t], d) * scale;
                max = Math.max(max, logits[t]);
            }
            Arrays.fill(acc, 0);
            double normaliser = 0;
            for (int t = 0; t < count; t++) {
                double w = Math.exp(logits[t] - max);
                normaliser += w;
                int row = keys[t] * d;
                for (int c = 0; c < d; c++) acc[c] += w * v[row + c];
            }
            for (int c = 0; c < d; c++) out[i * d + c] = (float) (acc[c] / normaliser);
        }
    }

    /** Writes the keys row i attends to (j <= i) into keys; returns how many. */
    private static int keysOfRow(int i, int[] ranges, int[] columns, int[] keys) {
        int count = 0;
        for (int t = 0; t < ranges.length; t += 2) {
            int end = Math.min(ranges[t + 1], i + 1);
            for (int j = ranges[t]; j < end; j++) keys[count++] = j;
        }
        for (int c : columns) {
            if (c > i) break;
            keys[count++] = c;
        }
        return count;
    }
}
