package io.prefill.cuda;

import io.prefill.cuda.Kernel.Dim3;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.VerticalSlashEstimator;
import java.util.stream.IntStream;

/**
 * Vertical-slash on the device, all heads per launch: the online estimate (last-64-query
 * softmax, column and diagonal sums, forced entries, top-k) and the conversion of chosen columns
 * and offsets into the CSR block plan. A-shape reuses {@link #plan(VsSelection, int)}.
 */
public final class VerticalSlashGpu {
    private static final int CHUNK_KEYS = 1024;  // ESTIMATE_TILES * 64 in vertical_slash.cuh

    private final KernelModule module;
    private final CudaStream stream;
    private final DeviceArena arena;

    public VerticalSlashGpu(KernelModule module, CudaStream stream, DeviceArena arena) {
        this.module = module;
        this.stream = stream;
        this.arena = arena;
    }

    /** Each head's online scores: column sums and diagonal sums of the last 64 queries' softmax. */
    public record VsScores(int heads, int seqLen, DeviceBuffer columns, DeviceBuffer diagonals) { }

    /** Estimate with per-head budgets (verticalSize[h], slashSize[h]); q, k bf16 on the device. */
    public VsSelection estimate(DeviceBuffer q, DeviceBuffer k, AttentionShape s, int[] verticalSize, int[] slashSize) {
        return estimate(q, k, s, verticalSize, slashSize, new HeadPattern.Adaptive[s.heads()]);
    }

    /**
     * Estimate where head h with adaptive[h] != null takes its budgets from the estimate's mass, as
     * {@link #selectAdaptive} does, instead of verticalSize[h] and slashSize[h], with room for its maximum budget.
     */
    public VsSelection estimate(DeviceBuffer q, DeviceBuffer k, AttentionShape s, int[] verticalSize, int[] slashSize,
                                HeadPattern.Adaptive[] adaptive) {
        return estimate(q, k, s, null, verticalSize, slashSize, adaptive);
    }

    /**
     * The same with the last queries' row statistics given ({@link #rowStats}, computed by the
     * caller, who keeps them: the layer's accuracy certificate needs the same statistics), or
     * null to compute them here as scratch.
     */
    public VsSelection estimate(DeviceBuffer q, DeviceBuffer k, AttentionShape s, DeviceBuffer rowStatOrNull,
                                int[] verticalSize, int[] slashSize, HeadPattern.Adaptive[] adaptive) {
        VsSelection sel = allocate(s.heads(), s.seqLen(), room(verticalSize, adaptive), room(slashSize, adaptive));
        long mark = arena.mark();
        selectInto(scores(q, k, s, rowStatOrNull), sel, adaptive);
        stream.synchronize();
        arena.reset(mark);  // the scores are dead; the selection stays (allocated before the mark)
        return sel;
    }

    /**
     * The selection from scores already estimated where head h with adaptive[h] != null takes its
     * budgets from the scores' mass (on the device, {@code vs_mass_budget}; the CPU's
     * {@link VerticalSlashEstimator#massBudget}) and a head with null the smallest budgets: the
     * pattern search tries every gamma on one layer's scores. Allocated in the arena.
     */
    public VsSelection selectAdaptive(VsScores scores, HeadPattern.Adaptive[] adaptive) {
        int[] smallest = new int[scores.heads()];
        VsSelection sel = allocate(scores.heads(), scores.seqLen(), room(smallest, adaptive), room(smallest, adaptive));
        selectInto(scores, sel, adaptive);
        return sel;
    }

    /** The budgets, with an adaptive head's maximum in place of its own: the room its selection needs. */
    private static int[] room(int[] budgets, HeadPattern.Adaptive[] adaptive) {
        int[] room = budgets.clone();
        for (int h = 0; h < room.length; h++) if (adaptive[h] != null) room[h] = adaptive[h].maxBudget();
        return room;
    }

    /** The top-k into sel, adaptive heads' budgets first replaced by their mass budgets (scratch in the arena). */
    private void selectInto(VsScores scores, VsSelection sel, HeadPattern.Adaptive[] adaptive) {
        int heads = sel.heads();
        double[] gamma = new double[heads];
        int[] minBudget = new int[heads], maxBudget = new int[heads];
        boolean any = false;
        for (int h = 0; h < heads; h++) {
            if (adaptive[h] == null) continue;
            any = true;
            maxBudget[h] = adaptive[h].maxBudget();
            minBudget[h] = adaptive[h].minBudget();
            gamma[h] = adaptive[h].gamma();
        }
        if (any) {
            DeviceBuffer g = arena.alloc(8L * heads, "vs.gamma"), lo = arena.alloc(4L * heads, "vs.minBudget"),
                    hi = arena.alloc(4L * heads, "vs.maxBudget");
            g.upload(stream, gamma);
            lo.upload(stream, minBudget);
            hi.upload(stream, maxBudget);
            module.kernel("vs_mass_budget_k").launch(stream, Dim3.of(heads, 2), 1024, 0, scores.columns(),
                    scores.diagonals(), scores.seqLen(), g, lo, hi, sel.kCols(), sel.kOffs());
        }
        selectInto(scores, sel);
    }

    /** The online scores of every head (allocated in the arena; the estimate's scratch is released). */
    public VsScores scores(DeviceBuffer q, DeviceBuffer k, AttentionShape s) { return scores(q, k, s, null); }

    /** The same from the last queries' row statistics given ({@link #rowStats}), or computed here when null. */
    public VsScores scores(DeviceBuffer q, DeviceBuffer k, AttentionShape s, DeviceBuffer rowStatOrNull) {
        int n = s.seqLen(), heads = s.heads(), d = s.headDim();
        int chunks = chunks(n), tiles = BlockPlan.blocks(n);
        DeviceBuffer colScore = arena.alloc(4L * heads * n, "vs.colScore");
        DeviceBuffer slash = arena.alloc(4L * heads * n, "vs.slash");
        long mark = arena.mark();
        DeviceBuffer rowStat = rowStatOrNull != null ? rowStatOrNull : rowStats(q, k, s);
        DeviceBuffer diag = arena.alloc(4L * heads * tiles * 127, "vs.diagPart");
        module.kernel("vs_sums_d" + d).launch(stream, Dim3.of(heads, chunks), 128, estimateSmem(d) + 64 * 65 * 4,
                q, k, heads, s.kvHeads(), n, rowStat, colScore, diag);
        long cells = (long) heads * n;
        module.kernel("vs_slash_combine_k").launch(stream, Dim3.of((cells + 255) / 256), 256, 0, diag, heads, n, slash);
        stream.synchronize();
        arena.reset(mark);
        return new VsScores(heads, n, colScore, slash);
    }

    /**
     * Each head's last min(64, n) queries' softmax statistics over all keys they see: (max, sum of
     * exp(score - max)) per row, float2 [heads][64], allocated in the arena (the partials released).
     */
    public DeviceBuffer rowStats(DeviceBuffer q, DeviceBuffer k, AttentionShape s) {
        int n = s.seqLen(), heads = s.heads(), d = s.headDim(), chunks = chunks(n);
        DeviceBuffer rowStat = arena.alloc(8L * heads * 64, "vs.rowStat");
        long mark = arena.mark();
        DeviceBuffer stats = arena.alloc(8L * heads * chunks * 64, "vs.stats");
        module.kernel("vs_row_stats_d" + d).launch(stream, Dim3.of(heads, chunks), 128, estimateSmem(d),
                q, k, heads, s.kvHeads(), n, stats);
        module.kernel("vs_row_combine_k").launch(stream, Dim3.of(heads), 64, 0, stats, chunks, rowStat);
        stream.synchronize();
        arena.reset(mark);
        return rowStat;
    }

    private static int chunks(int n) { return (n + CHUNK_KEYS - 1) / CHUNK_KEYS; }

    private static int estimateSmem(int d) { return 64 * d * 2 + 2 * 64 * d * 2; }

    /** Top-k columns and offsets per head (forced ones first) from the scores, budgets clamped like the CPU planner. */
    public VsSelection select(VsScores scores, int[] verticalSize, int[] slashSize) {
        VsSelection sel = allocate(scores.heads(), scores.seqLen(), verticalSize, slashSize);
        selectInto(scores, sel);
        return sel;
    }

    /** A selection with room for the clamped budgets, the budgets (kCols, kOffs) already uploaded. */
    private VsSelection allocate(int heads, int n, int[] verticalSize, int[] slashSize) {
        int[] kc = new int[heads], ko = new int[heads];
        int colsMax = 1, offsMax = 1;
        for (int h = 0; h < heads; h++) {
            kc[h] = VerticalSlashEstimator.verticalBudget(verticalSize[h], n);
            ko[h] = VerticalSlashEstimator.slashBudget(slashSize[h], n);
            colsMax = Math.max(colsMax, kc[h]);
            offsMax = Math.max(offsMax, ko[h]);
        }
        VsSelection sel = VsSelection.allocate(heads, colsMax, offsMax, arena);
        sel.kCols().upload(stream, kc);
        sel.kOffs().upload(stream, ko);
        return sel;
    }

    private void selectInto(VsScores scores, VsSelection sel) {
        module.kernel("vs_topk_k").launch(stream, Dim3.of(sel.heads(), 2), 1024, 0, scores.columns(),
                scores.diagonals(), scores.seqLen(), sel.kCols(), sel.kOffs(), sel.colsMax(), sel.offsMax(),
                sel.cols(), sel.offs());
    }

    /** Causal entries per head of the plan {@link #plan} would build from sel, without building it. */
    public long[] cost(VsSelection sel, int n) {
        int heads = sel.heads(), slots = heads * BlockPlan.blocks(n);
        long mark = arena.mark();
        try {
            DeviceBuffer entries = arena.alloc(8L * heads, "vs.cost");
            entries.zero(stream);
            module.kernel("vs_plan_cost_k").launch(stream, Dim3.of((slots * 32L + 255) / 256), 256, 0, sel.cols(),
                    sel.kCols(), sel.colsMax(), sel.offs(), sel.kOffs(), sel.offsMax(), heads, n, entries);
            long[] host = new long[heads];
            entries.download(stream, host);
            return host;
        } finally {
            arena.reset(mark);
        }
    }

    /** The CSR block plan of a selection (count, scan, fill on the device). */
    public DevicePlan plan(VsSelection sel, int n) {
        int heads = sel.heads(), nqb = BlockPlan.blocks(n), slots = heads * nqb;
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
        DevicePlan plan = new DevicePlan(heads, n, rangePtr, rangeData, colPtr, colData, sizes.numRanges(),
                sizes.numColumns());
        module.kernel("vs_plan_fill_k").launch(stream, warps, 256, 0, sel.cols(), sel.kCols(), sel.colsMax(),
                sel.offs(), sel.kOffs(), sel.offsMax(), heads, n, plan);
        return plan;
    }

    /** A-shape (nInit sink columns, nLocal nearest keys): the VS plan of columns [0,nInit), offsets [0,nLocal). */
    public DevicePlan aShape(int heads, int n, int nInit, int nLocal) {
        int[][] cols = new int[heads][], offs = new int[heads][];
        int[] c = IntStream.range(0, Math.min(nInit, n)).toArray();
        int[] o = IntStream.range(0, Math.min(nLocal, n)).toArray();
        for (int h = 0; h < heads; h++) {
            cols[h] = c;
            offs[h] = o;
        }
        return plan(VsSelection.upload(cols, offs, arena, stream), n);
    }
}
