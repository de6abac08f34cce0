package io.prefill.sparse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RangePlanTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 63, 64, 65, 200})
    void densePlanContainsEveryCausalEntry(int n) {
        RangePlan plan = RangePlan.dense(n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) assertEquals(j <= i, plan.contains(i, j), "(" + i + ", " + j + ")");
        }
        assertEquals(TestInputs.causalEntries(n), plan.computedEntries());
        assertEquals(1.0, plan.density(), 1e-12);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 63, 65, 200, 1000})
    void keyBlockPlanContainsExactlyTheSelectedBlocks(int n) {
        Random random = new Random(n);
        int blocks = BlockPlan.blocks(n);
        int[][] keyBlocks = new int[blocks][];
        for (int b = 0; b < blocks; b++) {
            keyBlocks[b] = TestInputs.randomSubset(random, b + 1, 1 + random.nextInt(b + 1));
        }
        RangePlan plan = RangePlan.fromKeyBlocks(n, keyBlocks);
        for (int i = 0; i < n; i++) {
            int[] selected = keyBlocks[i / 64];
            for (int j = 0; j < n; j++) {
                boolean expected = j <= i && Arrays.binarySearch(selected, j / 64) >= 0;
                assertEquals(expected, plan.contains(i, j), "(" + i + ", " + j + ")");
            }
        }
        assertEquals(TestInputs.bruteForceCount(plan), plan.computedEntries());
        assertEquals(TestInputs.countWithMultiplicity(plan), plan.computedEntries());
    }

    @Test
    void adjacentKeyBlocksMergeIntoOneRangeAndTheDiagonalIsClipped() {
        RangePlan plan = RangePlan.fromKeyBlocks(150, new int[][] {{0}, {0, 1}, {0, 2}});
        assertArrayEquals(new int[] {0, 128}, plan.ranges(1));
        assertArrayEquals(new int[] {0, 64, 128, 150}, plan.ranges(2));
    }

    @Test
    void rejectsOverlappingOrTouchingRangesAndColumnsInsideRanges() {
        assertThrows(IllegalArgumentException.class,
            () -> new RangePlan(64, new int[][] {{0, 10, 5, 20}}, new int[][] {{}}));
        assertThrows(IllegalArgumentException.class,
            () -> new RangePlan(64, new int[][] {{0, 10, 10, 20}}, new int[][] {{}}));
        assertThrows(IllegalArgumentException.class,
            () -> new RangePlan(64, new int[][] {{0, 10}}, new int[][] {{5}}));
        assertThrows(IllegalArgumentException.class,
            () -> new RangePlan(64, new int[][] {{0, 65}}, new int[][] {{}}));
        assertThrows(IllegalArgumentException.class,
            () -> new RangePlan(64, new int[][] {{}}, new int[][] {{30, 20}}));
        assertThrows(IllegalArgumentException.class,
            () -> new RangePlan(100, new int[][] {{0, 1}}, new int[][] {{}}));
        assertThrows(IllegalArgumentException.class,
            () -> RangePlan.fromKeyBlocks(130, new int[][] {{0}, {0, 2}, {0, 2}}));
    }

    @Test
    void arraysHandedOutAreCopies() {
        RangePlan plan = RangePlan.dense(100);
        plan.ranges(1)[1] = 3;
        assertArrayEquals(new int[] {0, 100}, plan.ranges(1));
        assertTrue(plan.contains(99, 50));
        assertFalse(plan.contains(50, 99));
    }
}
