package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.HeadPlanner;
import io.prefill.sparse.KeptMass;
import io.prefill.sparse.VerticalSlashEstimator;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The device's certificate and adaptive budgets against the CPU reference: {@link KeptMassGpu}
 * against {@link KeptMass} on the CPU planner's plans of every pattern, and the adaptive head's
 * budgets ({@code vs_mass_budget}) against {@link VerticalSlashEstimator#massBudget} on the same
 * scores, also when the pattern search selects every gamma from one estimate.
 */
@Tag("gpu")
class KeptMassGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    /** Lengths below one block, across a partial last block (the last 64 rows span two blocks), and whole. */
    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3} sigma={4}")
    @CsvSource({"5,1,40,64,1.0", "5,5,1000,128,1.0", "5,1,1000,64,0.3", "5,5,4096,128,1.5", "10,2,3000,64,1.0"})
    void keptMassMatchesTheCpuOnEveryPattern(int heads, int kvHeads, int n, int d, double sigma) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(31L * n + d + heads);
        float[] q = randomBf16(rnd, s.qElements(), sigma), k = randomBf16(rnd, s.kvElements(), sigma);
        HeadPattern[] patterns = {new HeadPattern.VerticalSlash(40, 100), new HeadPattern.AShape(16, 200),
            new HeadPattern.BlockSparse(3), new HeadPattern.Dense(), new HeadPattern.Adaptive(0.8, 30, 300)};
        int group = heads / kvHeads;
        BlockPlan[] plans = new BlockPlan[heads];
        double[] cpu = new double[heads];
        for (int h = 0; h < heads; h++) {
            float[] qh = head(q, h, n, d), kh = head(k, h / group, n, d);
            plans[h] = HeadPlanner.plan(patterns[h % patterns.length], 0, qh, kh, n, d);
            cpu[h] = KeptMass.ofLastQueries(qh, kh, n, d, plans[h]);
        }
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DevicePlan plan = DevicePlan.upload(HostPlan.of(plans), arena, stream());
            DeviceBuffer qd = upload(q, "q"), kd = upload(k, "k");
            KeptMassGpu keptMass = new KeptMassGpu(module(), stream(), arena);
            double[] gpu = keptMass.ofLastQueries(qd, kd, s, plan);
            // the layer hands the certificate the row statistics its estimate computed: the same bits
            DeviceBuffer estimateStats = new VerticalSlashGpu(module(), stream(), arena).rowStats(qd, kd, s);
            assertArrayEquals(gpu, keptMass.ofLastQueries(qd, kd, s, plan, estimateStats), s.toString());
            for (int h = 0; h < heads; h++) {
                String what = patterns[h % patterns.length] + " head " + h + " " + s;
                assertEquals(cpu[h], gpu[h], 2e-3, what);
                if (patterns[h % patterns.length] instanceof HeadPattern.Dense) assertEquals(1.0, gpu[h], 1e-4, what);
            }
        } finally {
            arena.reset(mark);
        }
    }

    /** A plan that leaves out the one key every last query looks at keeps little; with it, nearly all. */
    @Test
    void aMissedKeyShowsAsLostMass() {
        int n = 2048, d = 64;
        AttentionShape s = new AttentionShape(2, 1, n, d);
        Random rnd = new Random(5);
        float[] q = randomBf16(rnd, s.qElements(), 0.2), k = randomBf16(rnd, s.kvElements(), 0.2);
        // every last query of both heads is u, and key 700 is u scaled to a logit of ~12: the
        // key takes nearly all of their attention
        float[] u = randomBf16(rnd, d, 1.0);
        double uu = 0;
        for (float x : u) uu += x * x;
        int needle = 700;
        for (int h = 0; h < 2; h++)
            for (int a = n - 64; a < n; a++) System.arraycopy(u, 0, q, (h * n + a) * d, d);
        for (int x = 0; x < d; x++) k[needle * d + x] = Bf16.round((float) (u[x] * 12 * Math.sqrt(d) / uu));
        BlockPlan aShape = HeadPlanner.plan(new HeadPattern.AShape(16, 200), 0, head(q, 0, n, d), k, n, d);
        BlockPlan vs = HeadPlanner.plan(new HeadPattern.VerticalSlash(40, 100), 0, head(q, 1, n, d), k, n, d);
        assertFalse(aShape.contains(n - 1, needle));
        assertTrue(vs.contains(n - 1, needle));
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DevicePlan plan = DevicePlan.upload(HostPlan.of(new BlockPlan[] {aShape, vs}), arena, stream());
            double[] kept = new KeptMassGpu(module(), stream(), arena).ofLastQueries(upload(q, "q"), upload(k, "k"), s, plan);
            assertTrue(kept[0] < 0.5, "A-shape misses the key the queries attend to: " + kept[0]);
            assertTrue(kept[1] > 0.9, "vertical-slash keeps it: " + kept[1]);
        } finally {
            arena.reset(mark);
        }
    }

    /** Flat scores (large budgets, up to the maximum), peaked ones (small budgets), the clamps and gamma 1. */
    @ParameterizedTest(name = "n={0} d={1} sigma={2} gamma={3} min={4} max={5}")
    @CsvSource({"1000,64,0.3,0.95,1,100000", "4096,128,1.5,0.9,1,100000", "4096,128,1.5,0.99,100,6096",
        "3000,64,1.0,0.5,1,100000", "3000,64,0.3,0.95,100,400", "777,128,1.0,1.0,1,100000", "40,64,1.0,0.9,1,100000"})
    void adaptiveBudgetsFollowTheCpuRule(int n, int d, double sigma, double gamma, int minBudget, int maxBudget) {
        int heads = 4, kvHeads = 2;
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(17L * n + d);
        float[] q = randomBf16(rnd, s.qElements(), sigma), k = randomBf16(rnd, s.kvElements(), sigma);
        HeadPattern.Adaptive a = new HeadPattern.Adaptive(gamma, minBudget, maxBudget);
        HeadPattern.Adaptive[] adaptive = {a, null, a, a};  // head 1 keeps a fixed budget
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer dq = upload(q, "q"), dk = upload(k, "k");
            VerticalSlashGpu vs = new VerticalSlashGpu(module(), stream(), arena);
            VerticalSlashGpu.VsScores scores = vs.scores(dq, dk, s);
            float[] cols = new float[heads * n], diags = new float[heads * n];
            scores.columns().download(stream(), cols);
            scores.diagonals().download(stream(), diags);
            VsSelection sel = vs.estimate(dq, dk, s, new int[] {0, 77, 0, 0}, new int[] {0, 99, 0, 0}, adaptive);
            int[] kCols = new int[heads], kOffs = new int[heads];
            sel.kCols().download(stream(), kCols);
            sel.kOffs().download(stream(), kOffs);
            for (int h = 0; h < heads; h++) {
                String what = "head " + h + " " + s + " gamma " + gamma;
                if (adaptive[h] == null) {
                    assertEquals(VerticalSlashEstimator.verticalBudget(77, n), kCols[h], what);
                    assertEquals(VerticalSlashEstimator.slashBudget(99, n), kOffs[h], what);
                    continue;
                }
                float[] c = java.util.Arrays.copyOfRange(cols, h * n, (h + 1) * n);
                float[] o = java.util.Arrays.copyOfRange(diags, h * n, (h + 1) * n);
                int wantCols = VerticalSlashEstimator.verticalBudget(
                        VerticalSlashEstimator.massBudget(c, n, VerticalSlashEstimator.FORCED_COLUMNS, a), n);
                int wantOffs = VerticalSlashEstimator.slashBudget(
                        VerticalSlashEstimator.massBudget(o, n, VerticalSlashEstimator.FORCED_OFFSETS, a), n);
                System.out.printf("%s: columns %d (cpu %d), offsets %d (cpu %d)%n", what, kCols[h], wantCols, kOffs[h], wantOffs);
                assertEquals(wantCols, kCols[h], what + ": columns");
                assertEquals(wantOffs, kOffs[h], what + ": offsets");
                int[] chosen = sel.downloadColumns(stream())[h];
                assertEquals(kCols[h], chosen.length, what + ": the top-k took the adaptive budget");
            }
        } finally {
            arena.reset(mark);
        }
    }

    /**
     * The pattern search's selection of every gamma from one layer's scores
     * ({@link VerticalSlashGpu#selectAdaptive}) is the estimate's for that gamma, columns and
     * offsets alike (the scores come out the same bits each time, as
     * {@link #adaptiveBudgetsFollowTheCpuRule} relies on too), and so is its cost; a head without a
     * pattern keeps the smallest budgets.
     */
    @Test
    void selectingEveryGammaFromOneEstimateGivesTheEstimatesSelections() {
        int heads = 4, kvHeads = 2, n = 3000, d = 64;
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(23);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer dq = upload(q, "q"), dk = upload(k, "k");
            VerticalSlashGpu vs = new VerticalSlashGpu(module(), stream(), arena);
            VerticalSlashGpu.VsScores scores = vs.scores(dq, dk, s);
            for (double gamma : new double[] {0.5, 0.9, 0.99}) {
                HeadPattern.Adaptive a = new HeadPattern.Adaptive(gamma, 100, 6096);
                HeadPattern.Adaptive[] adaptive = {a, null, a, a};
                long step = arena.mark();
                VsSelection searched = vs.selectAdaptive(scores, adaptive);
                VsSelection estimated = vs.estimate(dq, dk, s, new int[heads], new int[heads], adaptive);
                int[][] cols = searched.downloadColumns(stream()), offs = searched.downloadOffsets(stream());
                int[][] wantCols = estimated.downloadColumns(stream()), wantOffs = estimated.downloadOffsets(stream());
                for (int h = 0; h < heads; h++) {
                    assertArrayEquals(wantCols[h], cols[h], "columns, head " + h + " gamma " + gamma);
                    assertArrayEquals(wantOffs[h], offs[h], "offsets, head " + h + " gamma " + gamma);
                }
                assertEquals(VerticalSlashEstimator.MIN_VERTICAL, cols[1].length, "gamma " + gamma);
                assertEquals(VerticalSlashEstimator.MIN_SLASH, offs[1].length, "gamma " + gamma);
                assertArrayEquals(vs.cost(estimated, n), vs.cost(searched, n), "gamma " + gamma);
                arena.reset(step);
            }
        } finally {
            arena.reset(mark);
        }
    }
}
