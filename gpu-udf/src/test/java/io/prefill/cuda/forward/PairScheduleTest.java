package io.prefill.cuda.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;

/** The CPU model of the persistent pair kernel's schedules (PairSchedule), on hand-countable cases. */
class PairScheduleTest {
    @Test
    void staticAssignmentTakesEveryGridthItemDynamicTheFirstFreeCta() {
        double[] cost = {5, 1, 1, 1};
        // static, grid 2: CTA 0 takes items 0 and 2 (6), CTA 1 items 1 and 3 (2)
        assertEquals(6, PairSchedule.staticMakespan(cost, 2));
        // dynamic: item 0 to CTA 0 (busy until 5); items 1, 2, 3 to CTA 1 as it frees (1, 2, 3)
        assertEquals(5, PairSchedule.dynamicMakespan(cost, 2));
        assertEquals(8, PairSchedule.staticMakespan(cost, 1));
        assertEquals(8, PairSchedule.dynamicMakespan(cost, 1));
    }

    @Test
    void itemsComeInTheKernelsKvGroupMajorOrderLongestPairsFirst() {
        // 8 dense heads in groups of 4, n = 256: two 128-row pairs per head, pair 1 walks 2 tiles of
        // 128 keys, pair 0 one. Items 0-3: heads 0-3 at pair 1; 4-7: heads 0-3 at pair 0; then heads 4-7.
        PatternConfig dense = PatternConfig.uniform("dense", 1, 8, 0, new HeadPattern.Dense());
        double[] cost = PairSchedule.itemCosts(dense, 0, 256, 4, 1.0, 10.0);
        double two = 1 + 2 * 10, one = 1 + 10;
        assertArrayEquals(new double[] {two, two, two, two, one, one, one, one, two, two, two, two, one, one, one, one}, cost);
    }
}
