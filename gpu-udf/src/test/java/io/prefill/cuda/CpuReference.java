package io.prefill.cuda;

import io.prefill.sparse.BlockPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Brute-force references for the GPU tests, written from the spec: attention over an explicit
 * mask in double precision, the vertical-slash estimate in fp32, the plan conversions, and the
 * block-sparse estimate. Small and slow on purpose.
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

    /** Column and slash scores of the vertical-slash estimate, fp32 as the spec says. */
    static float[][] vsScores(float[] q, float[] k, int n, int d) {
        int qn = Math.min(64, n);
        float scale = (float) (1.0 / Math.sqrt(d));
        float[] col = new float[n], slash = new float[n];
        float[] s = new float[n];
        for (int a = 0; a < qn; a++) {
            int i = n - qn + a;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                float acc = 0;
                for (int x = 0; x < d; x++) acc += q[i * d + x] * k[j * d + x];
                s[j] = acc * scale;
                max = Math.max(max, s[j]);
            }
            float sum = 0;
            for (int j = 0; j <= i; j++) sum += (float) Math.exp(s[j] - max);
            for (int j = 0; j <= i; j++) {
                float p = (float) Math.exp(s[j] - max) / sum;
                col[j] += p;
                slash[i - j] += p;
            }
        }
        return new float[][] {col, slash};
    }

    /** Top k with the first `forced` indices forced in, ties to the smaller index; ascending. */
    static int[] topK(float[] score, int forced, int k) {
        Integer[] idx = IntStream.range(0, score.length).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> i < forced ? Double.POSITIVE_INFINITY : score[i])
                .reversed().thenComparingInt(i -> i));
        int[] out = new int[Math.min(k, score.length)];
        for (int x = 0; x < out.length; x++) out[x] = idx[x];
        Arrays.sort(out);
        return out;
    }

    /** The plan of chosen columns and offsets, from the definition (per-offset ranges, merged). */
    static BlockPlan vsPlan(int[] cols, int[] offs, int n) {
        int nqb = (n + 63) / 64;
        int[][] ranges = new int[nqb][], columns = new int[nqb][];
        for (int qb = 0; qb < nqb; qb++) {
            int r0 = qb * 64, r1 = Math.min(r0 + 64, n);
            List<int[]> rs = new ArrayList<>();
            for (int o : offs) {
                int lo = Math.max(0, r0 - o), hi = r1 - 1 - o;
                if (hi >= 0) rs.add(new int[] {lo, hi + 1});
            }
            rs.sort(Comparator.comparingInt(r -> r[0]));
            List<int[]> merged = new ArrayList<>();
            for (int[] r : rs) {
                if (!merged.isEmpty() && r[0] <= merged.get(merged.size() - 1)[1])
                    merged.get(merged.size() - 1)[1] = Math.max(merged.get(merged.size() - 1)[1], r[1]);
                else merged.add(r.clone());
            }
            ranges[qb] = merged.stream().flatMapToInt(Arrays::stream).toArray();
            columns[qb] = Arrays.stream(cols).filter(c -> c <= r1 - 1
                    && merged.stream().noneMatch(r -> c >= r[0] && c < r[1])).toArray();
        }
        return new ListPlan(n, ranges, columns);
    }

    /** Block-sparse choice per query block; mirrors the kernel's fp32 arithmetic (sequential, fma). */
    static BlockPlan blockSparsePlan(float[] q, float[] k, int n, int d, int topBlocks) {
        int nqb = (n + 63) / 64;
        float[][] pq = pool(q, n, d), pk = pool(k, n, d);
        int[][] ranges = new int[nqb][], columns = new int[nqb][];
        for (int qb = 0; qb < nqb; qb++) {
            float[] score = new float[qb + 1];
            for (int kb = 0; kb <= qb; kb++) {
                float acc = 0;
                for (int x = 0; x < d; x++) acc = Math.fma(pq[qb][x], pk[kb][x], acc);
                score[kb] = acc;
            }
            final int diag = qb;
            Integer[] idx = IntStream.rangeClosed(0, qb).boxed().toArray(Integer[]::new);
            Arrays.sort(idx, Comparator.<Integer>comparingDouble(i -> i == 0 || i == diag
                    ? Double.POSITIVE_INFINITY : score[i]).reversed().thenComparingInt(i -> i));
            int take = Math.min(topBlocks, qb + 1);
            int[] chosen = Arrays.stream(idx, 0, take).mapToInt(Integer::intValue).sorted().toArray();
            ranges[qb] = Arrays.stream(chosen).flatMap(b -> IntStream.of(b * 64, Math.min(b * 64 + 64, n))).toArray();
            columns[qb] = new int[0];
        }
        return new ListPlan(n, ranges, columns);
    }

    static float[][] pool(float[] x, int n, int d) {
        int nb = (n + 63) / 64;
        float[][] out = new float[nb][d];
        for (int b = 0; b < nb; b++) {
            int r0 = b * 64, r1 = Math.min(r0 + 64, n);
            for (int c = 0; c < d; c++) {
                float acc = 0;
                for (int r = r0; r < r1; r++) acc += x[r * d + c];
                out[b][c] = acc / (float) (r1 - r0);
            }
        }
        return out;
    }

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
