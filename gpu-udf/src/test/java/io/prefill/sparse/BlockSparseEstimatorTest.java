package io.prefill.sparse;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockSparseEstimatorTest {

    @Test
    void findsAPlantedKeyBlockForAPartialLastQueryBlock() {
        int n = 1000, d = 32;                 // 16 blocks, the last one 40 rows
        Random random = new Random(17);
        float[] q = TestInputs.gaussian(random, n, d, 0.3);
        float[] k = TestInputs.gaussian(random, n, d, 0.3);
        int queryBlock = 15, keyBlock = 6;
        for (int i = queryBlock * 64; i < n; i++) q[i * d] += 3f;
        for (int j = keyBlock * 64; j < keyBlock * 64 + 64; j++) k[j * d] += 3f;

        int[][] kept = BlockSparseEstimator.topKeyBlocks(q, k, n, d, 3);
        assertArrayEquals(new int[] {0, keyBlock, queryBlock}, kept[queryBlock]);
        RangePlan plan = RangePlan.fromKeyBlocks(n, kept);
        assertTrue(plan.contains(n - 1, keyBlock * 64 + 10));
    }

    @Test
    void alwaysKeepsBlockZeroAndTheDiagonalWithinTheBudget() {
        int n = 1537, d = 16;
        Random random = new Random(2);
        float[] q = TestInputs.gaussian(random, n, d, 1);
        float[] k = TestInputs.gaussian(random, n, d, 1);
        for (int topBlocks : new int[] {1, 2, 5, 100}) {
            int[][] kept = BlockSparseEstimator.topKeyBlocks(q, k, n, d, topBlocks);
            for (int b = 0; b < kept.length; b++) {
                assertEquals(Math.min(Math.max(topBlocks, 2), b + 1), kept[b].length, "query block " + b);
                assertEquals(0, kept[b][0]);
                assertEquals(b, kept[b][kept[b].length - 1]);
            }
        }
    }

    @Test
    void keepsTheHighestScoringBlocks() {
        int n = 640, d = 8;
        Random random = new Random(9);
        float[] q = TestInputs.gaussian(random, n, d, 1);
        float[] k = TestInputs.gaussian(random, n, d, 1);
        float[] pooledQ = BlockSparseEstimator.meanPool(q, n, d);
        float[] pooledK = BlockSparseEstimator.meanPool(k, n, d);
        int[][] kept = BlockSparseEstimator.topKeyBlocks(q, k, n, d, 4);
        for (int b = 3; b < kept.length; b++) {
            float[] scores = BlockSparseEstimator.blockScores(pooledQ, pooledK, b, d);
            float weakestKept = Float.POSITIVE_INFINITY;
            for (int kb : kept[b]) if (kb != 0 && kb != b) weakestKept = Math.min(weakestKept, scores[kb]);
            for (int kb = 1; kb < b; kb++) {
                if (java.util.Arrays.binarySearch(kept[b], kb) < 0) {
                    assertTrue(scores[kb] <= weakestKept, "block " + b + " dropped better key block " + kb);
                }
            }
        }
    }

    @Test
    void meanPoolAveragesThePartialLastBlockOverItsRealRows() {
        int n = 66, d = 2;
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) { x[i * d] = i; x[i * d + 1] = 1; }
        float[] pooled = BlockSparseEstimator.meanPool(x, n, d);
        assertArrayEquals(new float[] {31.5f, 1f, 64.5f, 1f}, pooled, 1e-6f);
    }
}
