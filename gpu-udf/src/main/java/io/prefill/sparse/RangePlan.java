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
     * The vertical-slash plan. For query block [r0, r1), offset o covers keys [r0 - o, r1 - 1 - o]
     * clipped to [0, r1 - 1]: every diagonal entry of the block plus up to 63 neighbours per row,
     * because the kernel computes whole ranges. Ranges that overlap or touch are merged; selected
     * columns not inside a merged range (and <= r1 - 1) are kept as leftover columns.
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
            merged.clear();
            // Largest offset first gives ascending starts, so one pass merges.
            for (int t = offsets.length - 1; t >= 0; t--) {
                int o = offsets[t];
                int end = r1 - o;
                if (end <= 0) continue;
                int start = Math.max(0, r0 - o);
                if (merged.size() > 0 && start <= merged.last()) {
                    merged.setLast(Math.max(merged.last(), end));
                } else {
                    merged.add(start);
                    merged.add(end);
                }
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
