package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.Kernel.Dim3;
import io.prefill.sparse.BlockPlan;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The pattern search's device pieces: plan cost without the plan, the row log-sum-exp of the
 * attention kernels, and the error and recall reductions, each against a direct computation.
 */
@Tag("gpu")
class SearchKernelsGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    /** vs_plan_cost_k counts, per head, exactly the entries of the plan vs_plan_fill_k builds. */
    @Test
    void planCostEqualsTheBuiltPlansEntries() {
        int heads = 4, kvHeads = 2, n = 3001, d = 64;
        Random rnd = new Random(11);
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        long mark = arena().mark();
        try {
            DeviceBuffer q = upload(randomBf16(rnd, s.qElements(), 1.0), "q");
            DeviceBuffer k = upload(randomBf16(rnd, s.kvElements(), 1.0), "k");
            VerticalSlashGpu vs = new VerticalSlashGpu(module(), stream(), arena());
            VerticalSlashGpu.VsScores scores = vs.scores(q, k, s);
            int[][] budgets = {{30, 50, 60, 100}, {100, 200, 1000, 3001}, {3001, 40, 500, 2000}, {64, 64, 64, 64}};
            int[][] slashes = {{50, 60, 100, 200}, {300, 3001, 150, 50}, {2000, 3001, 60, 700}, {6096, 100, 50, 1000}};
            for (int t = 0; t < budgets.length; t++) {
                long inner = arena().mark();
                VsSelection sel = vs.select(scores, budgets[t], slashes[t]);
                long[] cost = vs.cost(sel, n);
                DevicePlan plan = vs.plan(sel, n);
                long[] entries = attention().computedEntriesPerHead(plan, arena());
                assertArrayEquals(entries, cost, "trial " + t);
                long sum = 0;
                for (long e : entries) sum += e;
                assertEquals(attention().computedEntries(plan, arena()), sum, "per-head entries add up, trial " + t);
                HostPlan host = plan.download(stream());
                for (int h = 0; h < heads; h++) assertEquals(host.head(h).computedEntries(), cost[h], "host count, head " + h);
                arena().reset(inner);
            }
        } finally {
            arena().reset(mark);
        }
    }

    /**
     * lse[h, i] = log2 sum_j exp2(scaleLog2 * q_i . k_j) over the row's keys, from the dense kernel
     * and the plan kernel; the plan kernel's output is the plain plan kernel's, bit for bit.
     */
    @Test
    void rowLogSumExpMatchesADirectSumAndGivesTheRecall() {
        int heads = 4, kvHeads = 2, n = 777, d = 128;
        Random rnd = new Random(5);
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        float[] qh = randomBf16(rnd, s.qElements(), 1.0), kh = randomBf16(rnd, s.kvElements(), 1.0);
        float[] vh = randomBf16(rnd, s.kvElements(), 1.0);
        long mark = arena().mark();
        try {
            DeviceBuffer q = upload(qh, "q"), k = upload(kh, "k"), v = upload(vh, "v");
            DeviceBuffer dense = poisoned(s.qElements(), "dense"), sparse = poisoned(s.qElements(), "sparse");
            DeviceBuffer plain = poisoned(s.qElements(), "plain");
            DeviceBuffer denseLse = arena().alloc(4L * heads * n, "denseLse"), lse = arena().alloc(4L * heads * n, "lse");
            attention().denseWithLse(q, k, v, dense, denseLse, s);
            VerticalSlashGpu vs = new VerticalSlashGpu(module(), stream(), arena());
            DevicePlan plan = vs.plan(vs.estimate(q, k, s, new int[] {40, 40, 100, 30}, new int[] {60, 200, 50, 100}), n);
            HostPlan host = plan.download(stream());
            float[] gotDense = new float[heads * n];
            denseLse.download(stream(), gotDense);
            // each dense kernel's lse twin (the default's is checked against direct sums below)
            float[] denseOut = downloadBf16(dense, s.qElements());
            for (AttentionKernels.Variant dv : denseVariants()) {
                long inner = arena().mark();
                DeviceBuffer out2 = poisoned(s.qElements(), "dense2");
                DeviceBuffer lse2 = arena().alloc(4L * heads * n, "denseLse2");
                attention().use(dv, AttentionKernels.Variant.PLAN_MMA).denseWithLse(q, k, v, out2, lse2, s);
                float[] got2 = new float[heads * n];
                lse2.download(stream(), got2);
                for (int i = 0; i < got2.length; i++) assertEquals(gotDense[i], got2[i], 2e-3, dv + " lse at " + i);
                assertClose(denseOut, downloadBf16(out2, s.qElements()), 0, dv + " output");
                arena().reset(inner);
            }
            // the default plan kernel's lse twin, and each variant that has one (wgmma on sm_90a)
            for (AttentionKernels.Variant variant : new AttentionKernels.Variant[] {null, AttentionKernels.Variant.PLAN_MMA,
                    AttentionKernels.Variant.PLAN_WGMMA}) {
                AttentionKernels attn = attention();
                if (variant != null) attn.use(AttentionKernels.Variant.DENSE_MMA, variant);
                sparse.fill32(stream(), POISON);
                plain.fill32(stream(), POISON);
                lse.fill32(stream(), POISON);
                attn.withPlanAndLse(q, k, v, sparse, lse, s, plan);
                attn.withPlan(q, k, v, plain, s, plan);
                assertArrayEquals(downloadBf16(plain, s.qElements()), downloadBf16(sparse, s.qElements()),
                        "same kernel body, " + attn.planVariant());
                float[] gotPlan = new float[heads * n];
                lse.download(stream(), gotPlan);
                double scaleLog2 = 1.4426950408889634 / Math.sqrt(d);
                for (int h = 0; h < heads; h++) {
                    BlockPlan p = host.head(h);
                    int g = h / (heads / kvHeads);
                    for (int i : new int[] {0, 1, 63, 64, 200, 511, n - 1}) {
                        double max = Double.NEGATIVE_INFINITY;
                        double[] logit = new double[i + 1];
                        for (int j = 0; j <= i; j++) {
                            double dot = 0;
                            for (int c = 0; c < d; c++) dot += (double) qh[(h * n + i) * d + c] * kh[(g * n + j) * d + c];
                            logit[j] = dot * scaleLog2;
                            max = Math.max(max, logit[j]);
                        }
                        double all = 0, inside = 0;
                        for (int j = 0; j <= i; j++) {
                            double e = Math.pow(2, logit[j] - max);
                            all += e;
                            if (p.contains(i, j)) inside += e;
                        }
                        String at = attn.planVariant() + " head " + h + " row " + i;
                        assertEquals(max + Math.log(all) / Math.log(2), gotDense[h * n + i], 2e-3, at);
                        assertEquals(max + Math.log(inside) / Math.log(2), gotPlan[h * n + i], 2e-3, at);
                        // the recall of the search: dense mass inside the plan
                        assertEquals(inside / all, Math.pow(2, gotPlan[h * n + i] - gotDense[h * n + i]), 2e-3, at);
                    }
                }
            }
        } finally {
            arena().reset(mark);
        }
    }

    /** head_sq_diff_k (every row, then the last 64) and recall_rows_k against sums over the downloaded tensors. */
    @Test
    void reductionsMatchHostSums() {
        int heads = 3, n = 1000, d = 64;
        Random rnd = new Random(9);
        long per = (long) n * d;
        float[] a = randomBf16(rnd, heads * per, 1.0), b = randomBf16(rnd, heads * per, 0.5);
        float[] la = new float[heads * n], lb = new float[heads * n];
        for (int i = 0; i < la.length; i++) { lb[i] = (float) rnd.nextGaussian() * 4; la[i] = lb[i] - (float) Math.abs(rnd.nextGaussian()); }
        int[] rows = {0, 10, 500, 999};
        long mark = arena().mark();
        try {
            DeviceBuffer da = upload(a, "a"), db = upload(b, "b");
            DeviceBuffer dla = arena().alloc(4L * la.length, "la"), dlb = arena().alloc(4L * lb.length, "lb");
            dla.upload(stream(), la);
            dlb.upload(stream(), lb);
            DeviceBuffer dr = arena().alloc(4L * rows.length, "rows");
            dr.upload(stream(), rows);
            DeviceBuffer sums = arena().alloc(8L * 3 * heads, "sums");
            sums.zero(stream());
            module().kernel("head_sq_diff_k").launch(stream(), Dim3.of(7, heads), 256, 0, da, db, per, 0L,
                    sums.slice(0, 8L * heads, "diff"), sums.slice(8L * heads, 8L * heads, "ref"));
            module().kernel("recall_rows_k").launch(stream(), Dim3.of(1), 256, 0, dla, dlb, dr, rows.length, heads, n,
                    sums.slice(16L * heads, 8L * heads, "recall"));
            double[] got = new double[3 * heads];
            sums.download(stream(), got);
            for (int h = 0; h < heads; h++) {
                double diff = 0, ref = 0, recall = 0;
                for (long t = h * per; t < (h + 1) * per; t++) {
                    diff += ((double) a[(int) t] - b[(int) t]) * ((double) a[(int) t] - b[(int) t]);
                    ref += (double) b[(int) t] * b[(int) t];
                }
                for (int r : rows) recall += Math.min(1, Math.pow(2, (double) la[h * n + r] - lb[h * n + r]));
                assertEquals(diff, got[h], diff * 1e-5, "diff head " + h);
                assertEquals(ref, got[heads + h], ref * 1e-5, "ref head " + h);
                assertEquals(recall, got[2 * heads + h], 1e-5, "recall head " + h);
            }
            // from > 0: the last 64 rows only (--scored-rows last-block)
            long from = per - 64L * d;
            DeviceBuffer last = arena().alloc(8L * 2 * heads, "last");
            last.zero(stream());
            module().kernel("head_sq_diff_k").launch(stream(), Dim3.of(7, heads), 256, 0, da, db, per, from,
                    last.slice(0, 8L * heads, "diff"), last.slice(8L * heads, 8L * heads, "ref"));
            double[] lastGot = new double[2 * heads];
            last.download(stream(), lastGot);
            for (int h = 0; h < heads; h++) {
                double diff = 0, ref = 0;
                for (long t = h * per + from; t < (h + 1) * per; t++) {
                    diff += ((double) a[(int) t] - b[(int) t]) * ((double) a[(int) t] - b[(int) t]);
                    ref += (double) b[(int) t] * b[(int) t];
                }
                assertEquals(diff, lastGot[h], diff * 1e-5, "last-block diff head " + h);
                assertEquals(ref, lastGot[heads + h], ref * 1e-5, "last-block ref head " + h);
            }
        } finally {
            arena().reset(mark);
        }
    }
}
