package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.BlockSparseGpu;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.DevicePlan;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.PlanPick;
import io.prefill.cuda.VerticalSlashGpu;
import io.prefill.cuda.VsSelection;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.VerticalSlashEstimator;

import java.util.Arrays;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * The block plan of one layer whose heads follow the given patterns, built on the device the way
 * the cuda backend runs it (and the way the CPU reference's {@link io.prefill.sparse.HeadPlanner}
 * plans each head): vertical-slash, adaptive, A-shape and dense heads share one column/diagonal selection,
 * block-sparse heads get the block-sparse plan of their budget, merged per head. Used by the
 * layer's attention and by the pattern search, which scores candidate patterns on these plans.
 */
public final class LayerPlanner {
    private final KernelModule module;
    private final CudaStream stream;
    private final LayerAttention.SelectionOverride override;

    public LayerPlanner(KernelModule module, CudaStream stream) { this(module, stream, null); }

    LayerPlanner(KernelModule module, CudaStream stream, LayerAttention.SelectionOverride overrideOrNull) {
        this.module = module;
        this.stream = stream;
        this.override = overrideOrNull;
    }

    /**
     * A layer's plan and, when a vertical-slash or adaptive head made the layer estimate, the last
     * queries' row statistics that estimate computed ({@link VerticalSlashGpu#rowStats}; null
     * otherwise): the accuracy certificate reads the same statistics, so it need not recompute them.
     */
    public record LayerPlan(DevicePlan plan, DeviceBuffer lastQueryStats) { }

    /** The plan of all heads (allocated in arena); p[h] is head h's pattern, Dense included. */
    public DevicePlan plan(int layer, HeadPattern[] p, DeviceBuffer q, DeviceBuffer k, AttentionShape s, DeviceArena arena) {
        return planWithStats(layer, p, q, k, s, arena).plan();
    }

    /** The plan of all heads with the estimate's row statistics, both allocated in arena. */
    public LayerPlan planWithStats(int layer, HeadPattern[] p, DeviceBuffer q, DeviceBuffer k, AttentionShape s,
                                   DeviceArena arena) {
        int heads = s.heads(), n = s.seqLen();
        boolean anyVsLike = false, anyEstimated = false;
        TreeSet<Integer> blockBudgets = new TreeSet<>();
        for (HeadPattern x : p) {
            if (x instanceof HeadPattern.BlockSparse bs) blockBudgets.add(bs.topBlocks());
            else anyVsLike = true;
            if (x instanceof HeadPattern.VerticalSlash || x instanceof HeadPattern.Adaptive) anyEstimated = true;
        }
        DeviceBuffer stats = anyEstimated ? new VerticalSlashGpu(module, stream, arena).rowStats(q, k, s) : null;
        DevicePlan plan = anyVsLike ? verticalSlashPlan(layer, p, q, k, s, arena, stats) : null;
        BlockSparseGpu bsGpu = new BlockSparseGpu(module, stream, arena);
        for (int budget : blockBudgets) {
            DevicePlan bs = bsGpu.plan(q, k, s, budget);
            if (plan == null) {
                plan = bs;
                continue;
            }
            boolean[] use = new boolean[heads];
            for (int h = 0; h < heads; h++) use[h] = p[h] instanceof HeadPattern.BlockSparse b && b.topBlocks() == budget;
            plan = new PlanPick(module, stream).pick(plan, bs, use, arena);
        }
        return new LayerPlan(plan, stats);
    }

    /**
     * One selection for the vertical-slash, adaptive, A-shape and dense heads (block-sparse heads
     * get a stub); adaptive heads take their budgets from the estimate on the device, which runs
     * when rowStat (the last queries' statistics, {@link VerticalSlashGpu#rowStats}) is given.
     */
    private DevicePlan verticalSlashPlan(int layer, HeadPattern[] p, DeviceBuffer q, DeviceBuffer k, AttentionShape s,
                                         DeviceArena arena, DeviceBuffer rowStat) {
        int heads = s.heads(), n = s.seqLen();
        int[] vertical = new int[heads], slash = new int[heads];
        int[][] fixedCols = new int[heads][], fixedOffs = new int[heads][];
        HeadPattern.Adaptive[] adaptive = new HeadPattern.Adaptive[heads];
        for (int h = 0; h < heads; h++) {
            HeadPattern x = p[h];
            if (x instanceof HeadPattern.VerticalSlash vs) {
                vertical[h] = vs.verticalSize();
                slash[h] = vs.slashSize();
                continue;
            }
            if (x instanceof HeadPattern.Adaptive a) {
                adaptive[h] = a;
                continue;
            }
            if (x instanceof HeadPattern.AShape a) {
                fixedCols[h] = firstInts(Math.min(a.nInit(), n));
                fixedOffs[h] = firstInts(Math.min(a.nLocal(), n));
            } else if (x instanceof HeadPattern.Dense) {
                fixedCols[h] = new int[0];
                fixedOffs[h] = firstInts(n);
            } else {  // block-sparse: replaced by its own plan; the cheapest placeholder
                fixedCols[h] = new int[0];
                fixedOffs[h] = new int[] {0};
            }
            vertical[h] = fixedCols[h].length;
            slash[h] = fixedOffs[h].length;
        }
        VerticalSlashGpu vsGpu = new VerticalSlashGpu(module, stream, arena);
        VsSelection sel;
        if (rowStat != null) {
            sel = vsGpu.estimate(q, k, s, rowStat, vertical, slash, adaptive);
        } else {
            int colsMax = 1, offsMax = 1;
            for (int h = 0; h < heads; h++) {
                colsMax = Math.max(colsMax, vertical[h]);
                offsMax = Math.max(offsMax, slash[h]);
            }
            sel = VsSelection.allocate(heads, colsMax, offsMax, arena);
        }
        int[] chosenCols = null, chosenOffs = null;  // the budgets the device gave adaptive heads
        if (override != null && Arrays.stream(adaptive).anyMatch(Objects::nonNull)) {
            chosenCols = new int[heads];
            chosenOffs = new int[heads];
            sel.kCols().download(stream, chosenCols);
            sel.kOffs().download(stream, chosenOffs);
        }
        if (override != null) {  // every head gets lists from the host: one upload per list
            int[][] cols = new int[heads][], offs = new int[heads][];
            for (int h = 0; h < heads; h++) {
                int[][] chosen = fixedCols[h] != null ? new int[][] {fixedCols[h], fixedOffs[h]}
                        : adaptive[h] != null ? override.select(layer, h, n, chosenCols[h], chosenOffs[h])
                        : override.select(layer, h, n, VerticalSlashEstimator.verticalBudget(vertical[h], n),
                                VerticalSlashEstimator.slashBudget(slash[h], n));
                cols[h] = chosen[0];
                offs[h] = chosen[1];
            }
            sel.overwriteAll(cols, offs, stream);
        } else {
            for (int h = 0; h < heads; h++)
                if (fixedCols[h] != null) sel.overwrite(h, fixedCols[h], fixedOffs[h], stream);
        }
        return vsGpu.plan(sel, n);
    }

    private static int[] firstInts(int count) { return IntStream.range(0, count).toArray(); }
}
