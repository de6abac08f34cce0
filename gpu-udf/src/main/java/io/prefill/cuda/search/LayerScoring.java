package io.prefill.cuda.search;

import io.prefill.cuda.AttentionKernels;
import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.DevicePlan;
import io.prefill.cuda.Kernel.Dim3;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.forward.DeviceLayerObserver;
import io.prefill.cuda.forward.LayerPlanner;
import io.prefill.search.CandidateScore;
import io.prefill.search.DenseReference;
import io.prefill.search.PatternFamily;
import io.prefill.search.SearchOptions;
import io.prefill.sparse.HeadPattern;

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
 * The same quantities as the CPU's {@link io.prefill.search.HeadSearch}, with bf16 attention outputs.
 */
final class LayerScoring implements DeviceLayerObserver {
    /** Patterns of heads that are not searched (pinned): cheap, and never estimated. */
    private static final HeadPattern PLACEHOLDER = new HeadPattern.AShape(64, 64);
    private final KernelModule module;
    private final CudaStream stream;
    private final SearchOptions options;
    private final boolean[][] skip;
    private final int layers;
    private final List<List<List<CandidateScore>>> byLayer = new ArrayList<>();
    /** Families whose cost does not depend on the input are fitted once per document. */
    private final Map<PatternFamily, int[]> inputFreeFits = new EnumMap<>(PatternFamily.class);
    private final long startNanos = System.nanoTime();

    LayerScoring(KernelModule module, CudaStream stream, SearchOptions options, boolean[][] skip, int layers) {
        this.module = module;
        this.stream = stream;
        this.options = options;
        this.skip = skip;
        this.layers = layers;
    }

    List<List<List<CandidateScore>>> scores() { return byLayer; }

    /**
     * Two outputs and their lse rows; the vertical-slash scores, a selection at the largest budgets
     * and their scratch; the plan of one candidate, twice (a layer's merged plan copies it). A plan
     * within the target computes at most target * n^2 / 2 entries per head, and a leftover column
     * computes 64 of them in each query block but the diagonal one, which bounds its column lists.
     */
    @Override
    public long deviceBytes(AttentionShape s) {
        long n = s.seqLen(), hn = s.heads() * n, nqb = s.queryBlocks();
        double target = Math.max(options.targetCost(), 0.01);
        long outputs = 2 * 2L * hn * s.headDim() + 2 * 4L * hn;
        long estimate = 17L * hn + 4L * s.heads() * nqb * 127 + 8L * hn;
        long columns = (long) Math.ceil(target * n * n / 128) + 2 * n;
        long ranges = nqb * ((long) Math.ceil(target * n / 64) + 64);
        long plan = 2L * s.heads() * (4 * columns + 8 * ranges + 16 * (nqb + 1));
        return outputs + estimate + plan + (64L << 20);
    }

    @Override
    public void observe(int layer, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, AttentionShape s, DeviceArena arena) {
        int heads = s.heads(), n = s.seqLen();
        AttentionKernels attention = new AttentionKernels(module, stream);
        long mark = arena.mark();
        try {
            DeviceBuffer dense = arena.alloc(2L * s.qElements(), "search.dense");
            DeviceBuffer denseLse = arena.alloc(4L * heads * n, "search.denseLse");
            DeviceBuffer out = arena.alloc(2L * s.qElements(), "search.candidate");
            DeviceBuffer lse = arena.alloc(4L * heads * n, "search.candidateLse");
            int[] rows = DenseReference.sampleRows(n, options.recallRows());
            DeviceBuffer sampleRows = arena.alloc(4L * rows.length, "search.rows");
            sampleRows.upload(stream, rows);
            DeviceBuffer sums = arena.alloc(8L * 3 * heads, "search.sums");
            attention.denseWithLse(q, k, v, dense, denseLse, s);

            FamilyCosts costs = new FamilyCosts(module, stream, arena, q, k, s);
            List<List<CandidateScore>> byHead = new ArrayList<>();
            for (int h = 0; h < heads; h++) byHead.add(new ArrayList<>());
            for (PatternFamily family : options.families()) {
                int[] budgets = costs.dependsOnInput(family) ? costs.fit(family, options.targetCost())
                        : inputFreeFits.computeIfAbsent(family, f -> costs.fit(f, options.targetCost()));
                HeadPattern[] patterns = new HeadPattern[heads];
                for (int h = 0; h < heads; h++) patterns[h] = skip[layer][h] ? PLACEHOLDER : family.pattern(budgets[h]);
                long planMark = arena.mark();
                DevicePlan plan = new LayerPlanner(module, stream).plan(layer, patterns, q, k, s, arena);
                long[] entries = attention.computedEntriesPerHead(plan, arena);
                attention.withPlanAndLse(q, k, v, out, lse, s, plan);
                double[] red = reduce(out, dense, lse, denseLse, sampleRows, rows.length, sums, s);
                double causal = n * (n + 1.0) / 2;  // double: n(n+1) overflows int past 46340 tokens
                for (int h = 0; h < heads; h++) {
                    if (skip[layer][h]) continue;
                    double error = red[heads + h] == 0 ? Math.sqrt(red[h]) : Math.sqrt(red[h] / red[heads + h]);
                    byHead.get(h).add(new CandidateScore(family, patterns[h], entries[h] / causal, error,
                            red[2 * heads + h] / rows.length));
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
