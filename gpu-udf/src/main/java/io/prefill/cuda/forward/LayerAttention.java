package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionKernels;
import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.DevicePlan;
import io.prefill.cuda.HostPlan;
import io.prefill.cuda.KeptMassGpu;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.PairPlan;
import io.prefill.cuda.PlanPick;
import io.prefill.engine.AttentionStats;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.sparse.RangePlan;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * One layer's attention on the device, every head following its pattern in one attention launch:
 * the dense kernel when all heads are dense (or n is below the config's minimum sparse length),
 * else one launch over the layer's block plan ({@link LayerPlanner}, the same plans as the CPU
 * reference's {@link io.prefill.sparse.HeadPlanner}). Every sparse head's plan is certified first
 * ({@link KeptMassGpu}: the attention mass it keeps for the last queries), and a head keeping less
 * than the minimum runs dense instead. On cards without the wgmma kernels, plans
 * without block-sparse heads run two query blocks per CTA over a pair plan (faster there).
 */
final class LayerAttention {
    private final KernelModule module;
    private final CudaStream stream;
    private final PatternConfig patterns;
    private final StageClock clock;
    private final SelectionOverride override;
    private final double minKeptMass;

    /**
     * Benchmark hook: after the estimate has run (and been timed), replaces the columns and
     * diagonals it chose for a vertical-slash head. Random synthetic weights have no sparse
     * structure for the estimate to find, so benchmarks of real shapes substitute the index shape
     * trained models give (sinks, scattered columns, local diagonals) to time the attention on it.
     */
    interface SelectionOverride {
        /** {columns, offsets}, each ascending, exactly vertical and slash of them (already clamped to n). */
        int[][] select(int layer, int head, int n, int vertical, int slash);
    }

    /**
     * @param minKeptMass a sparse head whose plan keeps less than this share of its last queries'
     *                    attention mass ({@link KeptMassGpu}) runs dense for that document (0 = never)
     */
    LayerAttention(KernelModule module, CudaStream stream, PatternConfig patterns, StageClock clock,
                   SelectionOverride overrideOrNull, double minKeptMass) {
        this.module = module;
        this.stream = stream;
        this.patterns = patterns;
        this.clock = clock;
        this.override = overrideOrNull;
        this.minKeptMass = minKeptMass;
    }

    /** out may be q itself: each CTA reads its query rows before writing the same rows. */
    AttentionStats run(int layer, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer out,
                       AttentionShape s, DeviceArena arena) {
        int heads = s.heads(), n = s.seqLen();
        HeadPattern[] p = IntStream.range(0, heads).mapToObj(h -> patterns.pattern(layer, h)).toArray(HeadPattern[]::new);
        AttentionKernels attention = new AttentionKernels(module, stream);
        boolean sparse = n >= patterns.minSparseLength();
        int sparseHeads = sparse ? (int) Arrays.stream(p).filter(x -> !(x instanceof HeadPattern.Dense)).count() : 0;
        if (sparseHeads == 0) {
            attention.dense(q, k, v, out, s);
            clock.mark(StageClock.Stage.ATTENTION);
            return new AttentionStats(s.denseEntries(), s.denseEntries(), 0, heads);
        }
        long mark = arena.mark();
        try {
            boolean anyBlockSparse = Arrays.stream(p).anyMatch(x -> x instanceof HeadPattern.BlockSparse);
            LayerPlanner.LayerPlan planned = new LayerPlanner(module, stream, override).planWithStats(layer, p, q, k, s, arena);
            DevicePlan plan = planned.plan();
            clock.mark(StageClock.Stage.ESTIMATE);
            double[] kept = new KeptMassGpu(module, stream, arena).ofLastQueries(q, k, s, plan, planned.lastQueryStats());
            boolean[] fallback = new boolean[heads];
            int fallbacks = 0;
            AttentionStats.Certificate certificate = AttentionStats.Certificate.NONE;
            for (int h = 0; h < heads; h++) {
                if (p[h] instanceof HeadPattern.Dense) continue;
                fallback[h] = kept[h] < minKeptMass;
                if (fallback[h]) fallbacks++;
                certificate = certificate.plus(fallback[h] ? AttentionStats.Certificate.denseFallback(layer, h)
                        : AttentionStats.Certificate.of(kept[h], layer, h));
            }
            if (fallbacks > 0) plan = new PlanPick(module, stream).pick(plan, densePlanOf(fallback, n, arena), fallback, arena);
            clock.mark(StageClock.Stage.CERTIFICATE);
            // the pair kernels (two query blocks per CTA) beat the 64-row kernels on VS and A-shape
            // plans, the pair plan's build counted, but not on block-sparse plans (the union of two
            // blocks' scattered blocks holds about twice the keys)
            if (anyBlockSparse || !attention.pairPlanPays()) {
                attention.withPlan(q, k, v, out, s, plan);
            } else {
                PairPlan pair = attention.pairPlan(plan, arena);
                clock.mark(StageClock.Stage.ESTIMATE);
                attention.withPairPlan(q, k, v, out, s, plan, pair);
            }
            clock.mark(StageClock.Stage.ATTENTION);
            long entries = attention.computedEntries(plan, arena);
            clock.mark(StageClock.Stage.OTHER);
            int sparseRuns = sparseHeads - fallbacks;
            return new AttentionStats(entries, s.denseEntries(), sparseRuns, heads - sparseRuns, certificate);
        } finally {
            arena.reset(mark);
        }
    }

    /** Dense causal attention for the flagged heads, no keys for the others (to pick per head). */
    private DevicePlan densePlanOf(boolean[] dense, int n, DeviceArena arena) {
        int blocks = BlockPlan.blocks(n);
        BlockPlan none = new RangePlan(n, new int[blocks][0], new int[blocks][0]);
        BlockPlan all = RangePlan.dense(n);
        BlockPlan[] plans = new BlockPlan[dense.length];
        for (int h = 0; h < dense.length; h++) plans[h] = dense[h] ? all : none;
        return DevicePlan.upload(HostPlan.of(plans), arena, stream);
    }
}
