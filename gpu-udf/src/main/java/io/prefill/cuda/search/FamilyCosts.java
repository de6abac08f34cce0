package io.prefill.cuda.search;

import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.VerticalSlashGpu;
import io.prefill.cuda.VsSelection;
import io.prefill.search.BudgetFit;
import io.prefill.search.PatternFamily;
import io.prefill.sparse.BlockSparseCost;
import io.prefill.sparse.HeadPattern;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The real cost of a family's plan at trial budgets, for the bisection of {@link BudgetFit#fitAll}:
 * <ul>
 *   <li>vertical-slash: the layer's online scores once, then per trial the per-head top-k and
 *       the entries of the block plan it would give, counted on the device without building it
 *       (a trial at half the prompt's columns would need gigabytes of leftover-column lists);</li>
 *   <li>adaptive: nothing to fit; {@link LayerScoring} selects every step (gamma) from the same
 *       online scores ({@link #scores()}) and counts its entries the same way;</li>
 *   <li>A-shape and block-sparse: the same for every head and input (fixed columns and diagonals;
 *       a fixed number of blocks per query block), fitted once on one head.</li>
 * </ul>
 */
final class FamilyCosts {
    private final CudaStream stream;
    private final DeviceArena arena;
    private final DeviceBuffer q, k;
    private final AttentionShape shape;
    private final VerticalSlashGpu vsGpu;
    private VerticalSlashGpu.VsScores scores;

    FamilyCosts(KernelModule module, CudaStream stream, DeviceArena arena, DeviceBuffer q, DeviceBuffer k,
                AttentionShape shape) {
        this.stream = stream;
        this.arena = arena;
        this.q = q;
        this.k = k;
        this.shape = shape;
        this.vsGpu = new VerticalSlashGpu(module, stream, arena);
    }

    boolean dependsOnInput(PatternFamily family) { return family.pattern(1) instanceof HeadPattern.VerticalSlash; }

    /** Per head, the largest budget whose plan stays within the target (or the family's minimum). */
    int[] fit(PatternFamily family, double target) {
        int n = shape.seqLen(), heads = shape.heads();
        if (dependsOnInput(family)) {
            VerticalSlashGpu.VsScores s = scores();
            return BudgetFit.fitAll(heads, family.minBudget(), family.maxBudget(n), target,
                    b -> verticalSlash(family, s, b)).budgets();
        }
        int budget = BudgetFit.fitAll(1, family.minBudget(), family.maxBudget(n), target,
                b -> new double[] {inputFree(family, b[0])}).budgets()[0];
        int[] all = new int[heads];
        Arrays.fill(all, budget);
        return all;
    }

    /**
     * The layer's online scores, estimated on the first call and shared by both vertical-slash
     * shapes and the adaptive steps: allocated in the arena then, so the first call must come
     * before any arena mark whose reset would release them.
     */
    VerticalSlashGpu.VsScores scores() {
        if (scores == null) scores = vsGpu.scores(q, k, shape);
        return scores;
    }

    private double[] verticalSlash(PatternFamily family, VerticalSlashGpu.VsScores scores, int[] budgets) {
        int heads = budgets.length;
        int[] vertical = new int[heads], slash = new int[heads];
        for (int h = 0; h < heads; h++) {
            HeadPattern.VerticalSlash p = (HeadPattern.VerticalSlash) family.pattern(budgets[h]);
            vertical[h] = p.verticalSize();
            slash[h] = p.slashSize();
        }
        long mark = arena.mark();
        try {
            return densities(vsGpu.cost(vsGpu.select(scores, vertical, slash), shape.seqLen()));
        } finally {
            arena.reset(mark);
        }
    }

    private double inputFree(PatternFamily family, int budget) {
        int n = shape.seqLen();
        HeadPattern p = family.pattern(budget);
        if (p instanceof HeadPattern.BlockSparse bs) return BlockSparseCost.density(n, bs.topBlocks());
        if (!(p instanceof HeadPattern.AShape a)) throw new IllegalArgumentException("no cost for " + family);
        long mark = arena.mark();
        try {
            VsSelection sel = VsSelection.upload(new int[][] {firstInts(Math.min(a.nInit(), n))},
                    new int[][] {firstInts(Math.min(a.nLocal(), n))}, arena, stream);
            return densities(vsGpu.cost(sel, n))[0];
        } finally {
            arena.reset(mark);
        }
    }

    private double[] densities(long[] entries) {
        double causal = shape.seqLen() * (shape.seqLen() + 1.0) / 2;
        return Arrays.stream(entries).mapToDouble(e -> e / causal).toArray();
    }

    private static int[] firstInts(int count) { return IntStream.range(0, count).toArray(); }
}
