package io.prefill.sparse;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The closed-form block-sparse cost equals the entries of the plan the estimator really builds. */
class BlockSparseCostTest {
    @Test
    void equalsThePlannedEntriesForAnyInput() {
        Random rnd = new Random(7);
        int d = 8;
        for (int n : new int[] {1, 63, 64, 65, 200, 640, 1000}) {
            float[] q = new float[n * d], k = new float[n * d];
            for (int i = 0; i < q.length; i++) { q[i] = (float) rnd.nextGaussian(); k[i] = (float) rnd.nextGaussian(); }
            for (int top : new int[] {1, 2, 3, 5, 16}) {
                RangePlan plan = RangePlan.fromKeyBlocks(n, BlockSparseEstimator.topKeyBlocks(q, k, n, d, top));
                assertEquals(plan.computedEntries(), BlockSparseCost.computedEntries(n, top), "n=" + n + " top=" + top);
                assertEquals(plan.density(), BlockSparseCost.density(n, top), 1e-12);
            }
        }
    }

    @Test
    void allBlocksIsDense() {
        assertEquals(1000L * 1001 / 2, BlockSparseCost.computedEntries(1000, 16));
        // past 46340 tokens n(n+1) no longer fits an int
        assertEquals(1.0, BlockSparseCost.density(65536, 1024), 1e-12);
        assertEquals(2.0 * 64 * 64 * 1023 / (65536.0 * 65537), BlockSparseCost.density(65536, 2) - 1024 * 64 * 65 / (65536.0 * 65537), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> BlockSparseCost.computedEntries(100, 0));
    }
}
