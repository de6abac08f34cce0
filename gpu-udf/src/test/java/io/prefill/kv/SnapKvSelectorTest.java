package io.prefill.kv;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnapKvSelectorTest {
    private static final int D = 8;

    @Test
    void promptsWithinTheBudgetKeepEveryPosition() {
        KvSummaryOptions o = new KvSummaryOptions(4, 10, 2, 3, KvSummaryOptions.Pooling.MAX, 0);
        float[][] q = {random(16, 1)};
        int[] kept = new SnapKvSelector(o).select(q, random(16, 2), 16, D);
        assertArrayEquals(range(0, 16), kept);
    }

    @Test
    void keepsSinksTheWindowAndTheTopKAscending() {
        KvSummaryOptions o = new KvSummaryOptions(8, 20, 4, 7, KvSummaryOptions.Pooling.MAX, 0);
        int n = 200;
        int[] kept = new SnapKvSelector(o).select(new float[][]{random(n, 3), random(n, 4)}, random(n, 5), n, D);
        assertEquals(4 + 20 + 8, kept.length);
        for (int i = 1; i < kept.length; i++) assertTrue(kept[i] > kept[i - 1], "ascending, no duplicates");
        assertArrayEquals(range(0, 4), Arrays.copyOfRange(kept, 0, 4));
        assertArrayEquals(range(n - 8, n), Arrays.copyOfRange(kept, kept.length - 8, kept.length));
    }

    @Test
    void aKeyTheWindowAttendsToStronglyIsKeptWithItsNeighbours() {
        int n = 300;
        int planted = 120;
        float[] k = new float[n * D];
        float[] q = new float[n * D];
        // every key weak and orthogonal to the queries, except the planted one
        for (int j = 0; j < n; j++) k[j * D + 1] = 1f;
        k[planted * D] = 10f;
        for (int i = 0; i < n; i++) q[i * D] = 3f;
        KvSummaryOptions o = new KvSummaryOptions(16, 5, 0, 5, KvSummaryOptions.Pooling.MAX, 0);
        int[] kept = new SnapKvSelector(o).select(new float[][]{q}, k, n, D);
        // max pooling spreads the planted vote over planted +- 2: exactly those five win
        assertArrayEquals(range(planted - 2, planted + 3), Arrays.copyOfRange(kept, 0, 5));
    }

    @Test
    void poolingFilters() {
        double[] x = {0, 0, 6, 0, 0};
        assertArrayEquals(new double[]{0, 6, 6, 6, 0}, SnapKvSelector.pool(x, 3, KvSummaryOptions.Pooling.MAX));
        assertArrayEquals(new double[]{0, 2, 2, 2, 0}, SnapKvSelector.pool(x, 3, KvSummaryOptions.Pooling.AVG), 1e-12);
        assertArrayEquals(x, SnapKvSelector.pool(x, 1, KvSummaryOptions.Pooling.MAX));
    }

    @Test
    void votesAreProbabilitiesSummedOverWindowAndHeads() {
        int n = 50;
        int w = 10;
        double[] votes = SnapKvSelector.votes(new float[][]{random(n, 7), random(n, 8)}, random(n, 9), n, D, n - w);
        double total = Arrays.stream(votes).sum();
        // each of 2 heads x 10 queries spreads probability 1 over prefix and window: the prefix gets most but not all
        assertTrue(total > 0 && total < 2 * w, "total " + total);
    }

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * D];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = 0; i < r.length; i++) r[i] = from + i;
        return r;
    }
}
