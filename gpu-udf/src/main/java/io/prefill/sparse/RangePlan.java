package io.prefill.sparse;

import java.util.Arrays;

/**
 * The {@link BlockPlan} every pattern builds: per 64-row query block, one int array of merged key
 * ranges and one of leftover columns. About (2 * ranges + columns) ints per query block, so a
 * plan for 1M tokens stays in the tens of megabytes even with 1000 vertical columns.
 *
 * <p>The constructor checks the invariants the kernels rely on (ranges sorted, disjoint and not
 * touching, inside [0, r1); columns sorted, inside [0, r1) and outside every range), so a plan
 * can never count or compute an entry twice.
 */
public final class RangePlan implements BlockPlan {
    private final int n;
    private final int[][] ranges;
    private final int[][] columns;
    private final long computed;

    /**
     * @param ranges  per query block, flattened [start, end) pairs
     * @param columns per query block, leftover key columns
     */
    public RangePlan(int n, int[][] ranges, int[][] columns) {
        if (n < 0) throw new IllegalArgumentException("negative sequence length " + n);
        int blocks = BlockPlan.blocks(n);
        if (ranges.length != blocks || columns.length != blocks) {
            throw new IllegalArgumentException("expected " + blocks + " query blocks for n=" + n
                + ", got " + ranges.length + " range lists and " + columns.length + " column lists");
        }
        this.n = n;
        this.ranges = new int[blocks][];
        this.columns = new int[blocks][];
        long total = 0;
        for (int b = 0; b < blocks; b++) {
            this.ranges[b] = ranges[b].clone();
            this.columns[b] = columns[b].clone();
            checkBlock(b);
            total += causalCount(b);
        }
        this.computed = total;
    }

    /** Full causal attention: one range [0, r1) per query block. */
    public static RangePlan dense(int n) {
        int blocks = BlockPlan.blocks(n);
        int[][] ranges = new int[blocks][];
        int[][] columns = new int[blocks][];
        for (int b = 0; b < blocks; b++) {
            ranges[b] = new int[] {0, blockEnd(b, n)};
            columns[b] = new int[0];
        }
        return new RangePlan(n, ranges, columns);
    }

    /**
     * The vertical-slash plan, with the key ranges of MInference's index builder
     * ({@code convert_vertical_slash_indexes}): each query block [r0, r0 + 64) takes every
     * selected offset o < r0 + 64 as the 64-key band [r0 - o, r0 + 64 - o) (moved to [0, 64) when
     * it would start below key 0). The last query block of a sequence that is not a multiple of 64
     * is no exception: its diagonals get the whole band, not only its n - r0 rows' worth, so its
     * rows see as many keys per diagonal as those of every other block.
     *
     * <p>Bands are merged in ascending key order in 64-key steps, as the reference does: a range
     * that starts with the band ending at s and whose latest band ends at t is [s - 64, s + 64c)
     * with c = ceil((t - s) / 64), and the next band (ending at u) joins it when u <= s + 64c + 64,
     * else it starts a new range. So a range may run up to 63 keys past its last band. Ranges are
     * clipped to the block's last row r1 - 1 (later keys are masked anyway). Selected columns not
     * inside a range (and <= r1 - 1) are kept as leftover columns; the reference drops columns past
     * its last range, which only matters when offset 0 is not selected, and ours always is (see
     * {@link VerticalSlashEstimator}).
     */
    public static RangePlan fromVerticalSlash(int n, VerticalSlashIndex index) {
        int[] offsets = index.offsets();
        int[] cols = index.columns();
        int blocks = BlockPlan.blocks(n);
        int[][] ranges = new int[blocks][];
        int[][] leftovers = new int[blocks][];
        IntList merged = new IntList();
        IntList kept = new IntList();
        for (int b = 0; b < blocks; b++) {
            int r0 = b * BLOCK;
            int r1 = blockEnd(b, n);
            int bandEnd = r0 + BLOCK;  // the block's end as if it were full
            merged.clear();
            // Largest offset first gives ascending band ends s, so one pass merges.
            int start = -1, end = -1;
            for (int t = offsets.length - 1; t >= 0; t--) {
                int o = offsets[t];
                if (o >= bandEnd) continue;
                int s = Math.max(bandEnd - o, BLOCK);
                if (start < 0) {
                    start = s - BLOCK;
                    end = s;
                } else if (s > end + BLOCK) {
                    merged.add(start);
                    merged.add(Math.min(end, r1));
                    start = s - BLOCK;
                    end = s;
                } else if (s > end) {
                    end += BLOCK;
                }
            }
            if (start >= 0) {
                merged.add(start);
                merged.add(Math.min(end, r1));
            }
            kept.clear();
            int r = 0;
            for (int c : cols) {
                if (c >= r1) break;
                while (r < merged.size() && merged.get(r + 1) <= c) r += 2;
                boolean inside = r < merged.size() && merged.get(r) <= c;
                if (!inside) kept.add(c);
            }
            ranges[b] = merged.toArray();
            leftovers[b] = kept.toArray();
        }
        return new RangePlan(n, ranges, leftovers);
    }

    /**
     * The block-sparse plan: per query block, the selected key blocks (sorted, each <= the query
     * block) become ranges, adjacent ones merged, the diagonal block clipped to r1.
     */
    public static RangePlan fromKeyBlocks(int n, int[][] keyBlocks) {
        int blocks = BlockPlan.blocks(n);
        if (keyBlocks.length != blocks) {
            throw new IllegalArgumentException("expected " + blocks + " query blocks, got " + keyBlocks.length);
        }
        int[][] ranges = new int[blocks][];
        int[][] noColumns = new int[blocks][];
        IntList merged = new IntList();
        for (int b = 0; b < blocks; b++) {
            int r1 = blockEnd(b, n);
            merged.clear();
            int previous = -1;
            for (int kb : keyBlocks[b]) {
                if (kb <= previous || kb > b) {
                    throw new IllegalArgumentException("query block " + b + ": key blocks must be sorted, unique and <= "
                        + b + ": " + Arrays.toString(keyBlocks[b]));
                }
                previous = kb;
                int start = kb * BLOCK;
                int end = Math.min(start + BLOCK, r1);
                if (merged.size() > 0 && merged.last() == start) merged.setLast(end);
                else { merged.add(start); merged.add(end); }
            }
            ranges[b] = merged.toArray();
            noColumns[b] = new int[0];
        }
        return new RangePlan(n, ranges, noColumns);
    }

    @Override public int seqLen() { return n; }

    @Override public int[] ranges(int queryBlock) { return ranges[queryBlock].clone(); }

    @Override public int[] columns(int queryBlock) { return columns[queryBlock].clone(); }

    @Override
    public boolean contains(int i, int j) {
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException("query " + i + " outside [0, " + n + ")");
        if (j < 0 || j > i) return false;
        int b = i / BLOCK;
        return inRanges(ranges[b], j) || Arrays.binarySearch(columns[b], j) >= 0;
    }

    @Override public long computedEntries() { return computed; }

    /** Total number of ranges over all query blocks (a cost figure for kernels and reports). */
    public long rangeCount() {
        long total = 0;
        for (int[] r : ranges) total += r.length / 2;
        return total;
    }

    /** Total number of leftover columns over all query blocks. */
    public long columnCount() {
        long total = 0;
        for (int[] c : columns) total += c.length;
        return total;
    }

    @Override
    public String toString() {
        return String.format("RangePlan[n=%d, blocks=%d, ranges=%d, columns=%d, density=%.4f]",
            n, numQueryBlocks(), rangeCount(), columnCount(), density());
    }

    static int blockEnd(int queryBlock, int n) { return Math.min((queryBlock + 1) * BLOCK, n); }

    private static boolean inRanges(int[] flat, int j) {
        int lo = 0, hi = flat.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (j < flat[2 * mid]) hi = mid - 1;
            else if (j >= flat[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /** Entries (i, j), i in the block, j <= i, that this block's ranges and columns name. */
    private long causalCount(int b) {
        int r0 = b * BLOCK;
        int r1 = blockEnd(b, n);
        long count = 0;
        int[] flat = ranges[b];
        for (int t = 0; t < flat.length; t += 2) {
            for (int i = r0; i < r1; i++) count += Math.max(0, Math.min(flat[t + 1], i + 1) - flat[t]);
        }
        for (int c : columns[b]) count += r1 - Math.max(c, r0);
        return count;
    }

    private void checkBlock(int b) {
        int r1 = blockEnd(b, n);
        int[] flat = ranges[b];
        if (flat.length % 2 != 0) throw invalid(b, "odd-length range list");
        int previousEnd = -1;
        for (int t = 0; t < flat.length; t += 2) {
            int start = flat[t], end = flat[t + 1];
            if (start < 0 || end > r1 || start >= end) {
                throw invalid(b, "range [" + start + ", " + end + ") empty or outside [0, " + r1 + ")");
            }
            if (start <= previousEnd) throw invalid(b, "ranges not sorted, disjoint and merged at " + start);
            previousEnd = end;
        }
        int previous = -1;
        for (int c : columns[b]) {
            if (c <= previous || c < 0 || c >= r1) {
                throw invalid(b, "columns must be sorted, unique and inside [0, " + r1 + "), got " + c);
            }
            if (inRanges(flat, c)) throw invalid(b, "column " + c + " lies inside a range");
            previous = c;
        }
    }

    private IllegalArgumentException invalid(int b, String what) {
        return new IllegalArgumentException("query block " + b + " of n=" + n + ": " + what);
    }

    /** A growable int array, to build per-block arrays without boxing. */
    private static final class IntList {
        private int[] data = new int[16];
        private int size;

        void clear() { size = 0; }
        int size() { return size; }
        int get(int t) { return data[t]; }
        int last() { return data[size - 1]; }
        void setLast(int value) { data[size - 1] = value; }

        void add(int value) {
            if (size == data.length) data = Arrays.copyOf(data, size * 2);
            data[size++] = value;
        }

        int[] toArray() { return Arrays.copyOf(data, size); }
    }
}
