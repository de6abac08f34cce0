package io.prefill.sparse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vertical-slash and A-shape block plans against brute-force definitions. */
class VerticalSlashPlanTest {

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "63, 5, 7", "65, 10, 3", "200, 40, 60", "1000, 60, 120", "1537, 100, 90", "300, 300, 300"})
    void planIsTheBlockRoundedUnionOfSelectedEntries(int n, int numColumns, int numOffsets) {
        Random random = new Random(31L * n + numColumns);
        int[] columns = TestInputs.randomSubset(random, n, numColumns);
        int[] offsets = TestInputs.randomSubset(random, n, numOffsets);
        RangePlan plan = RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(columns, offsets));

        for (int b = 0; b < plan.numQueryBlocks(); b++) {
            boolean[] covered = offsetCoverage(n, b, offsets);
            int r0 = b * 64;
            int r1 = Math.min(r0 + 64, n);
            for (int i = r0; i < r1; i++) {
                for (int j = 0; j < n; j++) {
                    boolean selected = j <= i && (Arrays.binarySearch(columns, j) >= 0 || Arrays.binarySearch(offsets, i - j) >= 0);
                    boolean expected = j <= i && (Arrays.binarySearch(columns, j) >= 0 || covered[j]);
                    assertEquals(expected, plan.contains(i, j), "(" + i + ", " + j + ")");
                    if (selected) assertTrue(plan.contains(i, j), "dropped selected entry (" + i + ", " + j + ")");
                }
            }
            assertRangesDisjointAndColumnsOutside(plan, b);
        }
        assertEquals(TestInputs.bruteForceCount(plan), plan.computedEntries());
        assertEquals(TestInputs.countWithMultiplicity(plan), plan.computedEntries(), "an entry is counted twice");
    }

    @Test
    void offsetsMergeIntoRangesAndLeftoverColumnsStayOutside() {
        // Query block [64, 128): offsets 0 and 1 cover [63, 128) and [64, 127) -> merged [63, 128);
        // offset 100 covers [0, 28) -> clipped at 0; column 10 is inside it, 40 is a leftover.
        RangePlan plan = RangePlan.fromVerticalSlash(128, new VerticalSlashIndex(new int[] {10, 40, 70}, new int[] {0, 1, 100}));
        assertArrayEquals(new int[] {0, 28, 63, 128}, plan.ranges(1));
        assertArrayEquals(new int[] {40}, plan.columns(1));
        // Query block [0, 64): offset 100 is empty there, column 70 is beyond the block.
        assertArrayEquals(new int[] {0, 64}, plan.ranges(0));
        assertArrayEquals(new int[0], plan.columns(0));
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "65, 4, 16", "200, 0, 30", "1000, 16, 100", "1537, 128, 256", "100, 200, 500"})
    void aShapeIsSinksPlusTheWindowWidenedToTheQueryBlock(int n, int nInit, int nLocal) {
        RangePlan plan = RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, nInit, nLocal));
        for (int i = 0; i < n; i++) {
            int blockStart = i / 64 * 64;
            for (int j = 0; j < n; j++) {
                boolean exact = j <= i && (j < nInit || i - j < nLocal);
                boolean blockRounded = j <= i && (j < nInit || j >= blockStart - nLocal + 1);
                assertEquals(blockRounded, plan.contains(i, j), "(" + i + ", " + j + ")");
                if (exact) assertTrue(plan.contains(i, j));
            }
        }
        assertEquals(TestInputs.bruteForceCount(plan), plan.computedEntries());
        assertEquals(TestInputs.countWithMultiplicity(plan), plan.computedEntries());
    }

    @Test
    void everyColumnAndOffsetMeansDense() {
        int n = 333;
        int[] all = java.util.stream.IntStream.range(0, n).toArray();
        RangePlan plan = RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(all, all));
        assertEquals(TestInputs.causalEntries(n), plan.computedEntries());
        assertEquals(0, plan.columnCount());
    }

    /** Keys of query block b covered by the offset ranges [r0 - o, r1 - 1 - o], marked one by one. */
    private static boolean[] offsetCoverage(int n, int b, int[] offsets) {
        int r0 = b * 64;
        int r1 = Math.min(r0 + 64, n);
        boolean[] covered = new boolean[n];
        for (int o : offsets) {
            for (int j = r0 - o; j <= r1 - 1 - o; j++) if (j >= 0) covered[j] = true;
        }
        return covered;
    }

    private static void assertRangesDisjointAndColumnsOutside(BlockPlan plan, int b) {
        int[] ranges = plan.ranges(b);
        for (int t = 2; t < ranges.length; t += 2) {
            assertTrue(ranges[t] > ranges[t - 1], "block " + b + ": ranges overlap or touch: " + Arrays.toString(ranges));
        }
        for (int c : plan.columns(b)) {
            for (int t = 0; t < ranges.length; t += 2) {
                assertTrue(c < ranges[t] || c >= ranges[t + 1], "block " + b + ": column " + c + " inside a range");
            }
        }
    }
}
