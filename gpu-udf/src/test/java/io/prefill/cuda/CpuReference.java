package io.prefill.cuda;

import io.prefill.sparse.BlockPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Brute-force attention over an explicit mask in double precision (for random plans, which the
 * project's PlanAttention rejects when a row has no key) and plan normalisation for comparisons.
 * The estimates and plan conversions are checked against the project's io.prefill.sparse planners.
 */
final class CpuReference {
    private CpuReference() { }

    interface Mask { boolean attends(int i, int j); }

    /** out[i] = softmax_j(q_i . k_j / sqrt(d), j in mask, j <= i) v; rows with no entry are 0. */
    static float[] attention(float[] q, float[] k, float[] v, int n, int d, Mask mask, int[] rows) {
        float[] out = new float[n * d];
        double scale = 1.0 / Math.sqrt(d);
        IntStream.of(rows).parallel().forEach(i -> {
            double[] s = new double[i + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                if (!mask.attends(i, j)) { s[j] = Double.NaN; continue; }
                double acc = 0;
                for (int x = 0; x < d; x++) acc += (double) q[i * d + x] * k[j * d + x];
                s[j] = acc * scale;
                max = Math.max(max, s[j]);
            }
            double sum = 0;
            double[] o = new double[d];
            for (int j = 0; j <= i; j++) {
                if (Double.isNaN(s[j])) continue;
                double p = Math.exp(s[j] - max);
                sum += p;
                for (int x = 0; x < d; x++) o[x] += p * v[j * d + x];
            }
            for (int x = 0; x < d; x++) out[i * d + x] = sum > 0 ? (float) (o[x] / sum) : 0f;
        });
        return out;
    }

    static int[] allRows(int n) { return IntStream.range(0, n).toArray(); }

    /** Ranges with adjacent ones merged: two plans covering the same keys compare equal. */
    static int[] normalizedRanges(int[] r) {
        List<int[]> out = new ArrayList<>();
        for (int x = 0; x < r.length; x += 2) {
            if (r[x] >= r[x + 1]) continue;
            if (!out.isEmpty() && out.get(out.size() - 1)[1] >= r[x])
                out.get(out.size() - 1)[1] = Math.max(out.get(out.size() - 1)[1], r[x + 1]);
            else out.add(new int[] {r[x], r[x + 1]});
        }
        return out.stream().flatMapToInt(Arrays::stream).toArray();
    }

    /** A plain per-block plan. */
    record ListPlan(int seqLen, int[][] rangesByBlock, int[][] columnsByBlock) implements BlockPlan {
        @Override public int[] ranges(int qb) { return rangesByBlock[qb]; }
        @Override public int[] columns(int qb) { return columnsByBlock[qb]; }
        @Override public boolean contains(int i, int j) {
            if (j > i || j < 0) return false;
            int qb = i / BLOCK;
            int[] r = rangesByBlock[qb];
            for (int x = 0; x < r.length; x += 2) if (j >= r[x] && j < r[x + 1]) return true;
            return Arrays.binarySearch(columnsByBlock[qb], j) >= 0;
        }
        @Override public long computedEntries() {
            long t = 0;
            for (int i = 0; i < seqLen; i++) for (int j = 0; j <= i; j++) if (contains(i, j)) t++;
            return t;
        }
    }
}
