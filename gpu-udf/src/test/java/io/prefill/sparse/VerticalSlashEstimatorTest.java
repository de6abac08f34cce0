package io.prefill.sparse;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class VerticalSlashEstimatorTest {

    private static int[] range(int from, int to) { return IntStream.range(from, to).toArray(); }

    private static int[] union(int[] a, int... b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).sorted().distinct().toArray();
    }

    @Test
    void findsPlantedVerticalLines() {
        int n = 1000, d = 16;
        Random random = new Random(7);
        float[] q = TestInputs.gaussian(random, n, d, 0.3);
        float[] k = TestInputs.gaussian(random, n, d, 0.3);
        int[] planted = {137, 402, 777, 950};
        // Every query leans on dimension 0; only the planted keys answer to it.
        for (int i = 0; i < n; i++) q[i * d] = 4f;
        for (int j : planted) k[j * d] = 4f;

        VerticalSlashIndex index = VerticalSlashEstimator.estimate(q, k, n, d, 30 + planted.length, 100);
        assertArrayEquals(union(range(0, 30), planted), index.columns());
    }

    @Test
    void findsPlantedDiagonals() {
        int n = 1000, frequencies = 64, d = 2 * frequencies;
        Random random = new Random(11);
        double[] theta = new double[frequencies];
        for (int f = 0; f < frequencies; f++) theta[f] = random.nextDouble() * Math.PI;
        int[] planted = {300, 517};
        // q_i . k_j = sum over planted o and frequencies of cos(theta (i - j - o)): a sharp peak
        // exactly where i - j is a planted offset, whatever i is (a RoPE-like relative signal).
        float[] q = new float[n * d];
        float[] k = new float[n * d];
        for (int i = 0; i < n; i++) {
            for (int f = 0; f < frequencies; f++) {
                q[i * d + 2 * f] = (float) Math.cos(theta[f] * i);
                q[i * d + 2 * f + 1] = (float) Math.sin(theta[f] * i);
                for (int o : planted) {
                    k[i * d + 2 * f] += (float) Math.cos(theta[f] * (i + o));
                    k[i * d + 2 * f + 1] += (float) Math.sin(theta[f] * (i + o));
                }
            }
        }
        VerticalSlashIndex index = VerticalSlashEstimator.estimate(q, k, n, d, 30, 100 + planted.length);
        assertArrayEquals(union(range(0, 100), planted), index.offsets());
    }

    @Test
    void equalScoresGoToTheSmallerColumnAndOffset() {
        // Zero Q and K: uniform attention, so every column and offset reachable by all 64 last
        // queries (j, o <= n - 64) has the same, highest score.
        int n = 300, d = 8;
        float[] zeros = new float[n * d];
        VerticalSlashIndex index = VerticalSlashEstimator.estimate(zeros, zeros, n, d, 40, 150);
        assertArrayEquals(range(0, 40), index.columns());
        assertArrayEquals(range(0, 150), index.offsets());
    }

    @Test
    void budgetsAreClampedToTheMinimumsAndForcedEntriesFitFirst() {
        int n = 300, d = 8;
        Random random = new Random(3);
        float[] q = TestInputs.gaussian(random, n, d, 1);
        float[] k = TestInputs.gaussian(random, n, d, 1);
        VerticalSlashIndex index = VerticalSlashEstimator.estimate(q, k, n, d, 1, 1);
        assertArrayEquals(range(0, 30), index.columns());
        // slash budget 50 < 100 forced offsets: the 50 nearest diagonals win the +inf tie.
        assertArrayEquals(range(0, 50), index.offsets());
    }

    @Test
    void budgetsAreClampedToTheSequenceLength() {
        for (int n : new int[] {1, 20, 63}) {
            int d = 4;
            Random random = new Random(n);
            VerticalSlashIndex index = VerticalSlashEstimator.estimate(
                TestInputs.gaussian(random, n, d, 1), TestInputs.gaussian(random, n, d, 1), n, d, 1000, 6096);
            assertArrayEquals(range(0, n), index.columns());
            assertArrayEquals(range(0, n), index.offsets());
        }
    }

    @Test
    void scoresAreProbabilityMassOfTheLastQueriesPerColumnAndDiagonal() {
        int n = 150, d = 8, last = 64;
        Random random = new Random(5);
        float[] q = TestInputs.gaussian(random, n, d, 1);
        float[] k = TestInputs.gaussian(random, n, d, 1);
        VerticalSlashEstimator.Scores scores = VerticalSlashEstimator.scores(q, k, n, d);

        double[] vertical = new double[n];
        double[] slash = new double[n];
        for (int i = n - last; i < n; i++) {
            double[] p = new double[i + 1];
            double total = 0;
            for (int j = 0; j <= i; j++) {
                double dot = 0;
                for (int c = 0; c < d; c++) dot += q[i * d + c] * k[j * d + c];
                p[j] = Math.exp(dot / Math.sqrt(d));
                total += p[j];
            }
            for (int j = 0; j <= i; j++) {
                vertical[j] += p[j] / total;
                slash[i - j] += p[j] / total;
            }
        }
        for (int t = 0; t < n; t++) {
            assertEquals(vertical[t], scores.vertical()[t], 1e-5, "column " + t);
            assertEquals(slash[t], scores.slash()[t], 1e-5, "offset " + t);
        }
    }
}
