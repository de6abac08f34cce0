package io.prefill.cuda;

import java.util.Arrays;

/**
 * Chosen key columns and diagonal offsets of every head, ascending, on the device:
 * head h has kCols[h] columns at cols[h * colsMax ..] and kOffs[h] offsets at offs[h * offsMax ..].
 */
public record VsSelection(int heads, DeviceBuffer cols, DeviceBuffer kCols, int colsMax,
                          DeviceBuffer offs, DeviceBuffer kOffs, int offsMax) {

    /** Uploads host lists (each sorted ascending, values in [0, n)), e.g. an A-shape or a benchmark plan. */
    public static VsSelection upload(int[][] cols, int[][] offs, DeviceArena arena, CudaStream s) {
        int heads = cols.length;
        int colsMax = 1, offsMax = 1;
        for (int h = 0; h < heads; h++) {
            colsMax = Math.max(colsMax, cols[h].length);
            offsMax = Math.max(offsMax, offs[h].length);
        }
        VsSelection sel = allocate(heads, colsMax, offsMax, arena);
        sel.overwriteAll(cols, offs, s);
        return sel;
    }

    /**
     * Replaces head h's lists (ascending, within the capacities) with fixed ones: how a layer
     * that mixes patterns gives its A-shape and dense heads their columns and diagonals after the
     * estimate chose those of its vertical-slash heads.
     */
    public void overwrite(int head, int[] headCols, int[] headOffs, CudaStream s) {
        if (head < 0 || head >= heads || headCols.length > colsMax || headOffs.length > offsMax)
            throw new IllegalArgumentException("head " + head + ": " + headCols.length + " columns / " + headOffs.length
                    + " offsets exceed the selection's " + colsMax + " / " + offsMax);
        if (headCols.length > 0) cols.slice(4L * head * colsMax, 4L * headCols.length, "vs.cols").upload(s, headCols);
        if (headOffs.length > 0) offs.slice(4L * head * offsMax, 4L * headOffs.length, "vs.offs").upload(s, headOffs);
        kCols.slice(4L * head, 4, "vs.kCols").upload(s, new int[] {headCols.length});
        kOffs.slice(4L * head, 4, "vs.kOffs").upload(s, new int[] {headOffs.length});
    }

    /**
     * Replaces every head's lists at once (lists ascending, within the capacities): four uploads
     * instead of four per head. cols[h] and offs[h] are head h's columns and diagonals.
     */
    public void overwriteAll(int[][] headCols, int[][] headOffs, CudaStream s) {
        if (headCols.length != heads || headOffs.length != heads)
            throw new IllegalArgumentException(headCols.length + " / " + headOffs.length + " heads of lists for a selection of "
                    + heads);
        int[] allCols = new int[heads * colsMax], allOffs = new int[heads * offsMax], kc = new int[heads], ko = new int[heads];
        for (int h = 0; h < heads; h++) {
            if (headCols[h].length > colsMax || headOffs[h].length > offsMax)
                throw new IllegalArgumentException("head " + h + ": " + headCols[h].length + " columns / " + headOffs[h].length
                        + " offsets exceed the selection's " + colsMax + " / " + offsMax);
            System.arraycopy(headCols[h], 0, allCols, h * colsMax, headCols[h].length);
            System.arraycopy(headOffs[h], 0, allOffs, h * offsMax, headOffs[h].length);
            kc[h] = headCols[h].length;
            ko[h] = headOffs[h].length;
        }
        cols.upload(s, allCols);
        offs.upload(s, allOffs);
        kCols.upload(s, kc);
        kOffs.upload(s, ko);
    }

    public static VsSelection allocate(int heads, int colsMax, int offsMax, DeviceArena arena) {
        return new VsSelection(heads, arena.alloc(4L * heads * colsMax, "vs.cols"), arena.alloc(4L * heads, "vs.kCols"),
                colsMax, arena.alloc(4L * heads * offsMax, "vs.offs"), arena.alloc(4L * heads, "vs.kOffs"), offsMax);
    }

    public int[][] downloadColumns(CudaStream s) { return download(s, cols, kCols, colsMax); }
    public int[][] downloadOffsets(CudaStream s) { return download(s, offs, kOffs, offsMax); }

    private int[][] download(CudaStream s, DeviceBuffer data, DeviceBuffer counts, int max) {
        int[] all = new int[heads * max], k = new int[heads];
        data.download(s, all);
        counts.download(s, k);
        int[][] out = new int[heads][];
        for (int h = 0; h < heads; h++) out[h] = Arrays.copyOfRange(all, h * max, h * max + k[h]);
        return out;
    }
}
