package io.prefill.sparse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The vertical-slash and A-shape block plans against brute-force definitions: the vertical-slash
 * plan against a step-by-step transliteration of MInference's index builder.
 */
class VerticalSlashPlanTest {

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "63, 5, 7", "65, 10, 3", "200, 40, 60", "1000, 60, 120", "1537, 100, 90", "300, 300, 300",
        "2500, 40, 300", "4100, 200, 50"})
    void planKeepsTheEntriesOfMInferencesIndexBuilder(int n, int numColumns, int numOffsets) {
        Random random = new Random(31L * n + numColumns);
        int[] columns = TestInputs.randomSubset(random, n, numColumns);
        int[] offsets = withZero(TestInputs.randomSubset(random, n, numOffsets));
        RangePlan plan = RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(columns, offsets));

        for (int b = 0; b < plan.numQueryBlocks(); b++) {
            boolean[] reference = referenceKeys(n, b, columns, offsets);
            int r0 = b * 64;
            int r1 = Math.min(r0 + 64, n);
            for (int i = r0; i < r1; i++) {
                for (int j = 0; j < n; j++) {
                    boolean selected = j <= i && (Arrays.binarySearch(columns, j) >= 0 || Arrays.binarySearch(offsets, i - j) >= 0);
                    assertEquals(j <= i && reference[j], plan.contains(i, j), "(" + i + ", " + j + ")");
                    if (selected) assertTrue(plan.contains(i, j), "dropped selected entry (" + i + ", " + j + ")");
                }
            }
            assertRangesDisjointAndColumnsOutside(plan, b);
        }
        assertEquals(TestInputs.bruteForceCount(plan), plan.computedEntries());
        assertEquals(TestInputs.countWithMultiplicity(plan), plan.computedEntries(), "an entry is counted twice");
    }

    @Test
    void theLastPartialQueryBlockGivesEveryDiagonalAWholeBand() {
        // n = 644: the last query block holds rows 640..643. Offset 200's band there is [440, 504),
        // all 64 keys (not the 4 keys [440, 444) of the block's 4 rows); offset 0's is [640, 704),
        // clipped to the block's rows. The last row sees 64 + 4 keys.
        int n = 644;
        RangePlan plan = RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(new int[0], new int[] {0, 200}));
        assertArrayEquals(new int[] {440, 504, 640, 644}, plan.ranges(10));
        int lastRowKeys = 0;
        for (int j = 0; j < n; j++) if (plan.contains(n - 1, j)) lastRowKeys++;
        assertEquals(68, lastRowKeys);
        // the same band as a full block's rows get: block 9 [576, 640) has [376, 440)
        assertArrayEquals(new int[] {376, 440, 576, 640}, plan.ranges(9));
    }

    @Test
    void rangesGrowInWholeBandsSoAGapShorterThanABandIsFilled() {
        // Query block [640, 704), offsets 100, 70, 0 in that order: bands end at 604, 634, 704.
        // [540, 604); 634 <= 604 + 64 joins and the range grows by a whole band to 668 (not 634);
        // 704 <= 668 + 64 joins. So the gap [634, 640) between the exact bands is computed too.
        RangePlan plan = RangePlan.fromVerticalSlash(704, new VerticalSlashIndex(new int[] {10, 636}, new int[] {0, 70, 100}));
        assertArrayEquals(new int[] {540, 704}, plan.ranges(10));
        assertArrayEquals(new int[] {10}, plan.columns(10), "column 636 lies in the filled gap");
        // A band ending more than one band past the range starts a new range: offsets 100 and 30
        // end at 604 and 674 > 604 + 64.
        RangePlan apart = RangePlan.fromVerticalSlash(704, new VerticalSlashIndex(new int[0], new int[] {0, 30, 100}));
        assertArrayEquals(new int[] {540, 604, 610, 704}, apart.ranges(10));
    }

    @Test
    void bandsStartingBeforeKeyZeroBecomeTheFirstBlock() {
        // Query block [64, 128): offsets 0 and 1 end at 128 and 127, offset 100 would start at -36
        // and becomes [0, 64) as in the reference; together one range [0, 128), so the columns 10,
        // 40 and 70 are all inside it.
        RangePlan plan = RangePlan.fromVerticalSlash(128, new VerticalSlashIndex(new int[] {10, 40, 70}, new int[] {0, 1, 100}));
        assertArrayEquals(new int[] {0, 128}, plan.ranges(1));
        assertArrayEquals(new int[0], plan.columns(1));
        // Query block [0, 64): offsets 0 and 1 only (100 >= 64 is not on this block).
        assertArrayEquals(new int[] {0, 64}, plan.ranges(0));
        assertArrayEquals(new int[0], plan.columns(0));
    }

    @Test
    void withoutOffsetZeroColumnsPastTheLastRangeAreStillKept() {
        // Offsets {100} only: block [128, 192) has the single range [28, 92). The reference's
        // builder stops at its last range and drops column 150; we keep it (our estimate always
        // selects offset 0, so this only concerns hand-made indexes).
        RangePlan plan = RangePlan.fromVerticalSlash(192, new VerticalSlashIndex(new int[] {5, 150}, new int[] {100}));
        assertArrayEquals(new int[] {28, 92}, plan.ranges(2));
        assertArrayEquals(new int[] {5, 150}, plan.columns(2));
        assertTrue(plan.contains(191, 150));
        assertFalse(plan.contains(140, 150), "causal");
        assertFalse(referenceKeys(192, 2, new int[] {5, 150}, new int[] {100})[150], "the reference drops it");
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

    /**
     * Keys of query block b in the index of MInference's {@code convert_vertical_slash_indexes}
     * kernel (csrc/vertical_slash_index.cu), transliterated step by step: offsets descending,
     * blocks of 64 keys saved from each range, columns kept while below the current range. The
     * attention kernel then masks keys > row (and >= n); the caller applies that.
     */
    static boolean[] referenceKeys(int n, int b, int[] columns, int[] offsetsAscending) {
        int nnzS = offsetsAscending.length, nnzV = columns.length;
        int[] slash = new int[nnzS];
        for (int t = 0; t < nnzS; t++) slash[t] = offsetsAscending[nnzS - 1 - t];
        boolean[] keys = new boolean[n + 128];
        int endM = b * 64 + 64;
        int s = 0, v = 0;
        int vIdx = nnzV > 0 ? columns[v++] : endM + 64;
        int sIdx = slash[s++];
        while (sIdx >= endM) sIdx = slash[s++];
        sIdx = Math.max(endM - sIdx, 64);
        int rangeStart = sIdx - 64, rangeEnd = sIdx;
        while (true) {
            if (vIdx < rangeEnd) {
                if (vIdx < rangeStart) keys[vIdx] = true;
                vIdx = v < nnzV ? columns[v++] : endM + 64;
            } else {
                if (s < nnzS) {
                    sIdx = Math.max(endM - slash[s++], 64);
                } else {
                    for (int j = rangeStart; j < rangeEnd; j++) keys[j] = true;
                    break;
                }
                if (sIdx > rangeEnd + 64) {
                    for (int j = rangeStart; j < rangeEnd; j++) keys[j] = true;
                    rangeStart = sIdx - 64;
                    rangeEnd = sIdx;
                } else if (sIdx > rangeEnd) {
                    rangeEnd += 64;
                }
            }
        }
        return Arrays.copyOf(keys, n);
    }

    private static int[] withZero(int[] offsets) {
        if (offsets.length > 0 && offsets[0] == 0) return offsets;
        int[] with = new int[offsets.length + 1];
        System.arraycopy(offsets, 0, with, 1, offsets.length);
        return with;
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
