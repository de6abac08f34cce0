package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;

/**
 * Vertical-slash on the device, all heads per launch: the online estimate (last-64-query
 * softmax, column and diagonal sums, forced entries, top-k) and the conversion of chosen columns
 * and offsets into the CSR block plan. A-shape reuses {@link #plan(VsSelection, int)}.
 */
public final class VerticalSlashGpu {
    public static final int FORCED_COLUMNS = 30, FORCED_OFFSETS = 100;
    public static final int MIN_COLUMNS = 30, MIN_OFFSETS = 50;
    private static final int CHUNK_KEYS = 512;  // ESTIMATE_TILES * 64 in vertical_slash.cuh

    private final KernelModule module;
    private final CudaStream stream;
    private final DeviceArena arena;

    public VerticalSlashGpu(KernelModule module, CudaStream stream, DeviceArena arena) {
        this.module = module;
        this.stream = stream;
        this.arena = arena;
    }

    /** Budgets clamped like the CPU planner: columns to [30, n], offsets to [50, n]. */
    public static int clampColumns(int v, int n) { return Math.min(Math.max(v, MIN_COLUMNS), n); }
    public static int clampOffsets(int s, int n) { return Math.min(Math.max(s, MIN_OFFSETS), n); }

    /** Estimate with per-head budgets (verticalSize[h], slashSize[h]); q, k bf16 on the device. */
    public VsSelection estimate(DeviceBuffer q, DeviceBuffer k, AttentionShape s, int[] verticalSize, int[] slashSize) {
        int n = s.seqLen(), heads = s.heads(), d = s.headDim();
        int chunks = (n + CHUNK_KEYS - 1) / CHUNK_KEYS, tiles = (n + 63) / 64;
        int[] kc = new int[heads], ko = new int[heads];
        int colsMax = 1, offsMax = 1;
        for (int h = 0; h < heads; h++) {
            kc[h] = clampColumns(verticalSize[h], n);
            ko[h] = clampOffsets(slashSize[h], n);
            colsMax = Math.max(colsMax, kc[h]);
            offsMax = Math.max(offsMax, ko[h]);
        }
        VsSelection sel = VsSelection.allocate(heads, colsMax, offsMax, arena);
        sel.kCols().upload(stream, kc);
        sel.kOffs().upload(stream, ko);
        long mark = arena.mark();
        DeviceBuffer stats = arena.alloc(8L * heads * chunks * 64, "vs.stats");
        DeviceBuffer rowStat = arena.alloc(8L * heads * 64, "vs.rowStat");
        DeviceBuffer colScore = arena.alloc(4L * heads * n, "vs.colScore");
        DeviceBuffer slash = arena.alloc(4L * heads * n, "vs.slash");
        DeviceBuffer diag = arena.alloc(4L * heads * tiles * 127, "vs.diagPart");
        int smemStats = 64 * d * 2 + 2 * 64 * d * 2;
        module.kernel("vs_row_stats_d" + d).launch(stream, Dim3.of(chunks, heads), 128, smemStats,
                q, k, heads, s.kvHeads(), n, stats);
        module.kernel("vs_row_combine_k").launch(stream, Dim3.of(heads), 64, 0, stats, chunks, rowStat);
        module.kernel("vs_sums_d" + d).launch(stream, Dim3.of(chunks, heads), 128, smemStats + 64 * 65 * 4,
                q, k, heads, s.kvHeads(), n, rowStat, colScore, diag);
        long cells = (long) heads * n;
        module.kernel("vs_slash_combine_k").launch(stream, Dim3.of((cells + 255) / 256), 256, 0, diag, heads, n, slash);
        module.kernel("vs_topk_k").launch(stream, Dim3.of(heads, 2), 1024, 0, colScore, slash, n,
                sel.kCols(), sel.kOffs(), colsMax, offsMax, sel.cols(), sel.offs());
        stream.synchronize();
        arena.reset(mark);  // scratch is dead; the selection stays (allocated before the mark)
        return sel;
    }

    /** The CSR block plan of a selection (count, scan, fill on the device). */
    public DevicePlan plan(VsSelection sel, int n) {
        int heads = sel.heads(), nqb = (n + 63) / 64, slots = heads * nqb;
        DeviceBuffer rangePtr = arena.alloc(4L * (slots + 1), "vsplan.rangePtr");
        DeviceBuffer colPtr = arena.alloc(4L * (slots + 1), "vsplan.colPtr");
        long mark = arena.mark();
        DeviceBuffer rangeCount = arena.alloc(4L * slots, "vsplan.rangeCount");
        DeviceBuffer colCount = arena.alloc(4L * slots, "vsplan.colCount");
        Dim3 warps = Dim3.of((slots * 32L + 255) / 256);
        module.kernel("vs_plan_count_k").launch(stream, warps, 256, 0, sel.cols(), sel.kCols(), sel.colsMax(),
                sel.offs(), sel.kOffs(), sel.offsMax(), heads, n, rangeCount, colCount);
        CsrSizes sizes = CsrSizes.scan(module, stream, slots, rangeCount, colCount, rangePtr, colPtr);
        arena.reset(mark);
        DeviceBuffer rangeData = sizes.allocRanges(arena, "vsplan.rangeData");
        DeviceBuffer colData = sizes.allocColumns(arena, "vsplan.colData");
        module.kernel("vs_plan_fill_k").launch(stream, warps, 256, 0, sel.cols(), sel.kCols(), sel.colsMax(),
                sel.offs(), sel.kOffs(), sel.offsMax(), heads, n, rangePtr, rangeData, colPtr, colData);
        return new DevicePlan(heads, n, rangePtr, rangeData, colPtr, colData, sizes.numRanges(), sizes.numColumns());
    }

    /** A-shape (nInit sink columns, nLocal nearest keys): the VS plan of columns [0,nInit), offsets [0,nLocal). */
    public DevicePlan aShape(int heads, int n, int nInit, int nLocal) {
        int[][] cols = new int[heads][], offs = new int[heads][];
        int[] c = java.util.stream.IntStream.range(0, Math.min(nInit, n)).toArray();
        int[] o = java.util.stream.IntStream.range(0, Math.min(nLocal, n)).toArray();
        for (int h = 0; h < heads; h++) {
            cols[h] = c;
            offs[h] = o;
        }
        return plan(VsSelection.upload(cols, offs, arena, stream), n);
    }
}
