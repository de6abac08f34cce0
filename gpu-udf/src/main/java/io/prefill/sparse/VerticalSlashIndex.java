package io.prefill.sparse;

import java.util.Arrays;

/**
 * Selected key columns and diagonal offsets (o = i - j) of one head, both sorted ascending and
 * unique. The input of {@link RangePlan#fromVerticalSlash}.
 */
public record VerticalSlashIndex(int[] columns, int[] offsets) {

    public VerticalSlashIndex {
        columns = checkedAscending(columns, "columns");
        offsets = checkedAscending(offsets, "offsets");
    }

    /**
     * A-shape as a fixed index: sink columns [0, nInit) and the nLocal nearest diagonals
     * [0, nLocal), both clipped to n. No estimate is needed.
     */
    public static VerticalSlashIndex aShape(int n, int nInit, int nLocal) {
        return new VerticalSlashIndex(firstInts(Math.min(nInit, n)), firstInts(Math.min(nLocal, n)));
    }

    @Override public int[] columns() { return columns.clone(); }

    @Override public int[] offsets() { return offsets.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof VerticalSlashIndex other
            && Arrays.equals(columns, other.columns) && Arrays.equals(offsets, other.offsets);
    }

    @Override public int hashCode() { return 31 * Arrays.hashCode(columns) + Arrays.hashCode(offsets); }

    @Override
    public String toString() {
        return "VerticalSlashIndex[columns=" + Arrays.toString(columns) + ", offsets=" + Arrays.toString(offsets) + "]";
    }

    private static int[] firstInts(int count) {
        int[] values = new int[Math.max(0, count)];
        for (int t = 0; t < values.length; t++) values[t] = t;
        return values;
    }

    private static int[] checkedAscending(int[] values, String what) {
        int previous = -1;
        for (int v : values) {
            if (v <= previous) {
                throw new IllegalArgumentException(what + " must be non-negative, sorted and unique: " + Arrays.toString(values));
            }
            previous = v;
        }
        return values.clone();
    }
}
