package io.prefill.cuda.search;

import io.prefill.cuda.AttentionKernels;
import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.DevicePlan;
import io.prefill.cuda.Kernel.Dim3;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.VerticalSlashGpu;
import io.prefill.cuda.VsSelection;
import io.prefill.cuda.forward.DeviceLayerObserver;
import io.prefill.cuda.forward.LayerPlanner;
import io.prefill.search.CandidateScore;
import io.prefill.search.DenseReference;
import io.prefill.search.PatternFamily;
import io.prefill.search.SearchOptions;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.VerticalSlashEstimator;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One document's scoring, layer by layer during the dense pre-fill. Per layer, all heads at once:
 * <ol>
 *   <li>dense attention with each row's log2 softmax denominator (the reference);</li>
 *   <li>per family, the budgets fitted to the target on the real cost of the plan ({@link FamilyCosts});</li>
 *   <li>the plan the cuda backend would run for those budgets ({@link LayerPlanner}), attention over
 *       it, and per head the relative L2 error against dense (over every row, or over the last query
 *       block with {@code ScoredRows.LAST_BLOCK}) and the recall of dense softmax mass on the sampled
 *       rows, exp2(lse_plan - lse_dense) (search.cuh).</li>
 * </ol>
 * The adaptive family is fitted over all documents, not here: every step (gamma) is selected from
 * the layer's online scores, its cost counted, and measured where the CPU measures it
 * ({@link #everyStep}). The same quantities as the CPU's {@link io.prefill.search.HeadSearch},
 * with bf16 attention outputs.
 */
final class LayerScoring implements DeviceLayerObserver {
    /** Patterns of heads that are not searched (pinned): cheap, and never estimated. */
    private static final HeadPattern PLACEHOLDER = new HeadPattern.AShape(64, 64);
    /** The selection of a head an adaptive step does not measure: no column, the main diagonal (the cheapest plan). */
    private static final int[] NO_COLUMNS = {}, MAIN_DIAGONAL = {0};
    private final KernelModule module;
    private final CudaStream stream;
    private final SearchOptions options;
    private final boolean[][] skip;
    private final int layers;
    private final int documents;
    private final List<List<List<CandidateScore>>> byLayer = new ArrayList<>();
    /** Families whose cost does not depend on the input are fitted once per document. */
    private final Map<PatternFamily, int[]> inputFreeFits = new EnumMap<>(PatternFamily.class);
    private final long startNanos = System.nanoTime();

    /** @param documents the number of calibration documents of the search (where adaptive steps are measured) */
    LayerScoring(KernelModule module, CudaStream stream, SearchOptions options, boolean[][] skip, int layers,
                 int documents) {
        this.module = module;
        this.stream = stream;
        this.options = options;
        this.skip = skip;
        this.layers = layers;
        this.documents = documents;
    }

    List<List<List<CandidateScore>>> scores() { return byLayer; }

    /**
     * Two outputs and their lse rows; the vertical-slash scores, a selection at the largest budgets
     * and their scratch; the plan of one candidate, twice (a layer's merged plan copies it). A plan
     * within the target computes at most target * n^2 / 2 entries per head, and a leftover column
     * computes 64 of them in each query block but the diagonal one, which bounds its column lists.
     * An adaptive step's plan (built once, not merged) is bounded by its budgets instead, since its
     * first step is measured whatever it costs: per head and query block, at most its maximum budget
     * of leftover columns (they are selected columns), and of ranges (each selected diagonal opens at
     * most one), nor more ranges than key blocks (they are disjoint and at least 64 keys wide).
     */
    @Override
    public long deviceBytes(AttentionShape s) {
        long n = s.seqLen(), hn = s.heads() * n, nqb = s.queryBlocks();
        double target = Math.max(options.targetCost(), 0.01);
        long outputs = 2 * 2L * hn * s.headDim() + 2 * 4L * hn;
        long estimate = 17L * hn + 4L * s.heads() * nqb * 127 + 8L * hn;
        long columns = (long) Math.ceil(target * n * n / 128) + 2 * n;
        long ranges = nqb * ((long) Math.ceil(target * n / 64) + 64);
        long plan = 2 * planBytes(s.heads(), nqb, columns, ranges);
        for (PatternFamily family : options.families()) {
            if (!family.fittedOverDocuments()) continue;
            long budget = widestStep(family, s.seqLen());
            plan = Math.max(plan, planBytes(s.heads(), nqb, nqb * budget, nqb * Math.min(budget, nqb)));
        }
        return outputs + estimate + plan + (64L << 20);
    }

    /** A CSR plan of every head with these column and range counts per head. */
    private static long planBytes(long heads, long queryBlocks, long columns, long ranges) {
        return heads * (4 * columns + 8 * ranges + 16 * (queryBlocks + 1));
    }

    /** The most columns, and the most diagonals, an adaptive head keeps at any step at n tokens (clamped). */
    private static long widestStep(PatternFamily family, int n) {
        int most = 0;
        for (int b = family.minBudget(); b <= family.maxBudget(n); b++)
            most = Math.max(most, ((HeadPattern.Adaptive) family.pattern(b)).maxBudget());
        return VerticalSlashEstimator.slashBudget(most, n);
    }

    @Override
    public void observe(int layer, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, AttentionShape s, DeviceArena arena) {
        int heads = s.heads(), n = s.seqLen();
        AttentionKernels attention = new AttentionKernels(module, stream);
        long mark = arena.mark();
        try {
            Reference dense = new Reference(q, k, v, s, arena);
            FamilyCosts costs = new FamilyCosts(module, stream, arena, q, k, s);
            List<List<CandidateScore>> byHead = new ArrayList<>();
            for (int h = 0; h < heads; h++) byHead.add(new ArrayList<>());
            for (PatternFamily family : options.families()) {
                if (family.fittedOverDocuments()) {
                    everyStep(family, layer, costs, dense, arena, byHead);
                    continue;
                }
                int[] budgets = costs.dependsOnInput(family) ? costs.fit(family, options.targetCost())
                        : inputFreeFits.computeIfAbsent(family, f -> costs.fit(f, options.targetCost()));
                HeadPattern[] patterns = new HeadPattern[heads];
                for (int h = 0; h < heads; h++) patterns[h] = skip[layer][h] ? PLACEHOLDER : family.pattern(budgets[h]);
                long planMark = arena.mark();
                DevicePlan plan = new LayerPlanner(module, stream).plan(layer, patterns, q, k, s, arena);
                long[] entries = attention.computedEntriesPerHead(plan, arena);
                double[][] measured = dense.measure(plan);
                for (int h = 0; h < heads; h++) {
                    if (skip[layer][h]) continue;
                    byHead.get(h).add(new CandidateScore(family, patterns[h], entries[h] / causal(n), measured[0][h],
                            measured[1][h]));
                }
                arena.reset(planMark);
            }
            byLayer.add(byHead);
            System.err.printf(Locale.ROOT, "[pattern-search] layer %d/%d scored (%d heads, n=%d), %.1f s%n",
                    layer + 1, layers, heads, n, (System.nanoTime() - startNanos) / 1e9);
        } finally {
            stream.synchronize();
            arena.reset(mark);
        }
    }

    /**
     * The adaptive family (fitted over all documents) as {@link io.prefill.search.HeadSearch#evaluate}
     * scores it: at every step (gamma), each head's selection from the layer's online scores and the
     * cost of its plan, the plan the cuda backend runs for the head at that gamma ({@link LayerPlanner}
     * plans adaptive heads from this same selection); the error and recall where that cost is at
     * most documents x 1.1 x target (always at the first step), from one plan of those heads, the
     * others left out of it (the cheapest selection) and NaN. Each head gets its largest step within
     * the target, else its first, with every step's score.
     */
    private void everyStep(PatternFamily family, int layer, FamilyCosts costs, Reference dense, DeviceArena arena,
                           List<List<CandidateScore>> byHead) {
        int heads = dense.shape.heads(), n = dense.shape.seqLen();
        double measuredUpTo = documents * options.targetCost() * 1.1;
        VerticalSlashGpu vsGpu = new VerticalSlashGpu(module, stream, arena);
        VerticalSlashGpu.VsScores scores = costs.scores();  // before the steps' marks: it outlives them
        List<List<CandidateScore>> steps = new ArrayList<>();
        for (int h = 0; h < heads; h++) steps.add(new ArrayList<>());
        CandidateScore[] withinTarget = new CandidateScore[heads];
        for (int b = family.minBudget(); b <= family.maxBudget(n); b++) {
            HeadPattern.Adaptive pattern = (HeadPattern.Adaptive) family.pattern(b);
            HeadPattern.Adaptive[] adaptive = new HeadPattern.Adaptive[heads];
            for (int h = 0; h < heads; h++) if (!skip[layer][h]) adaptive[h] = pattern;
            long stepMark = arena.mark();
            VsSelection sel = vsGpu.selectAdaptive(scores, adaptive);
            long[] entries = vsGpu.cost(sel, n);
            boolean[] measure = new boolean[heads];
            boolean any = false;
            for (int h = 0; h < heads; h++) {
                measure[h] = !skip[layer][h] && (b == family.minBudget() || entries[h] / causal(n) <= measuredUpTo);
                if (!measure[h]) sel.overwrite(h, NO_COLUMNS, MAIN_DIAGONAL, stream);
                any |= measure[h];
            }
            double[][] measured = any ? dense.measure(vsGpu.plan(sel, n)) : null;
            arena.reset(stepMark);
            for (int h = 0; h < heads; h++) {
                if (skip[layer][h]) continue;
                double cost = entries[h] / causal(n);
                CandidateScore step = new CandidateScore(family, pattern, cost,
                        measure[h] ? measured[0][h] : Double.NaN, measure[h] ? measured[1][h] : Double.NaN);
                steps.get(h).add(step);
                if (withinTarget[h] == null || cost <= options.targetCost()) withinTarget[h] = step;
            }
        }
        for (int h = 0; h < heads; h++) {
            if (skip[layer][h]) continue;
            CandidateScore w = withinTarget[h];
            byHead.get(h).add(new CandidateScore(family, w.pattern(), w.cost(), w.error(), w.recall(), w.cost(),
                    w.cost(), steps.get(h)));
        }
    }

    /** Dense causal entries; double: n(n+1) overflows int past 46340 tokens. */
    private static double causal(int n) { return n * (n + 1.0) / 2; }

    /**
     * A layer's dense attention with each row's lse, against which candidate plans are measured,
     * and the buffers each candidate's attention and reductions reuse (allocated in the arena).
     */
    private final class Reference {
        private final DeviceBuffer q, k, v, dense, denseLse, out, lse, sampleRows, sums;
        private final AttentionShape shape;
        private final AttentionKernels attention = new AttentionKernels(module, stream);
        private final int rows;

        Reference(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, AttentionShape s, DeviceArena arena) {
            int heads = s.heads(), n = s.seqLen();
            this.q = q;
            this.k = k;
            this.v = v;
            this.shape = s;
            dense = arena.alloc(2L * s.qElements(), "search.dense");
            denseLse = arena.alloc(4L * heads * n, "search.denseLse");
            out = arena.alloc(2L * s.qElements(), "search.candidate");
            lse = arena.alloc(4L * heads * n, "search.candidateLse");
            int[] sampled = DenseReference.sampleRows(n, options.recallRows());
            rows = sampled.length;
            sampleRows = arena.alloc(4L * rows, "search.rows");
            sampleRows.upload(stream, sampled);
            sums = arena.alloc(8L * 3 * heads, "search.sums");
            attention.denseWithLse(q, k, v, dense, denseLse, s);
        }

        /**
         * Attention over the plan, and per head the relative L2 error of its output against dense
         * ([0][h], over the scored rows) and the recall of dense softmax mass on the sampled rows ([1][h]).
         */
        double[][] measure(DevicePlan plan) {
            int heads = shape.heads();
            attention.withPlanAndLse(q, k, v, out, lse, shape, plan);
            double[] red = reduce(out, dense, lse, denseLse, sampleRows, rows, sums, shape);
            double[][] errorRecall = new double[2][heads];
            for (int h = 0; h < heads; h++) {
                errorRecall[0][h] = red[heads + h] == 0 ? Math.sqrt(red[h]) : Math.sqrt(red[h] / red[heads + h]);
                errorRecall[1][h] = red[2 * heads + h] / rows;
            }
            return errorRecall;
        }
    }

    /** [diff^2 per head, dense^2 per head, recall sum per head] */
    private double[] reduce(DeviceBuffer out, DeviceBuffer dense, DeviceBuffer lse, DeviceBuffer denseLse,
                            DeviceBuffer rows, int m, DeviceBuffer sums, AttentionShape s) {
        int heads = s.heads();
        long perHead = (long) s.seqLen() * s.headDim();
        long from = (long) DenseReference.firstScoredRow(s.seqLen(), options.scoredRows()) * s.headDim();
        sums.zero(stream);
        DeviceBuffer diff = sums.slice(0, 8L * heads, "search.diff");
        DeviceBuffer ref = sums.slice(8L * heads, 8L * heads, "search.ref");
        DeviceBuffer recall = sums.slice(16L * heads, 8L * heads, "search.recall");
        int chunks = (int) Math.min(1024, ((perHead - from) / 8 + 255) / 256);
        module.kernel("head_sq_diff_k").launch(stream, Dim3.of(chunks, heads), 256, 0, out, dense, perHead, from, diff, ref);
        module.kernel("recall_rows_k").launch(stream, Dim3.of(((long) m * heads + 255) / 256), 256, 0,
                lse, denseLse, rows, m, heads, s.seqLen(), recall);
        double[] host = new double[3 * heads];
        sums.download(stream, host);
        return host;
    }
}
