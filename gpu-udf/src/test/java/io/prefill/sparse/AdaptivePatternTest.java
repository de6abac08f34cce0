package io.prefill.sparse;

import io.prefill.cuda.forward.CudaForwardPass;
import io.prefill.model.ModelConfig;
import io.prefill.udf.ForwardBackends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The adaptive family: budgets from the estimate's mass (FlexPrefill's query-aware rule), its
 * bounds, its plan against a fixed vertical-slash head of the same budgets, its config form, and
 * the cuda backend refusing it before any work.
 */
class AdaptivePatternTest {
    @TempDir Path dir;

    private static float[] scores(int n, double... leading) {
        float[] s = new float[n];
        for (int j = 0; j < leading.length; j++) s[j] = (float) leading[j];
        return s;
    }

    @Test
    void theBudgetIsTheFewestEntriesThatReachTheMass() {
        HeadPattern.Adaptive a = new HeadPattern.Adaptive(0.9, 1, 1000);
        // 10 entries of 0.1 each beyond 2 forced ones of 0: 9 of them reach 0.9
        float[] flat = new float[12];
        for (int j = 2; j < 12; j++) flat[j] = 0.1f;
        assertEquals(2 + 9, VerticalSlashEstimator.massBudget(flat, 12, 2, a));
        // one entry holding 95% is enough
        float[] peaked = new float[12];
        peaked[7] = 0.95f;
        peaked[3] = 0.05f;
        assertEquals(2 + 1, VerticalSlashEstimator.massBudget(peaked, 12, 2, a));
        // forced entries count first: they already hold the mass
        float[] forced = new float[12];
        forced[0] = 0.5f;
        forced[1] = 0.45f;
        forced[5] = 0.05f;
        assertEquals(2, VerticalSlashEstimator.massBudget(forced, 12, 2, a));
    }

    @Test
    void theBudgetGrowsWithGammaAndStaysWithinItsBounds() {
        Random r = new Random(5);
        int n = 4000;
        float[] s = new float[n];
        for (int j = 0; j < n; j++) s[j] = (float) Math.pow(r.nextDouble(), 6);
        int previous = 0;
        for (double gamma : new double[] {0.5, 0.8, 0.9, 0.95, 0.99, 1.0}) {
            int b = VerticalSlashEstimator.massBudget(s, n, 30, new HeadPattern.Adaptive(gamma, 1, n));
            assertTrue(b >= previous, "gamma " + gamma + ": " + b + " < " + previous);
            previous = b;
        }
        assertEquals(n, previous, "gamma 1 keeps every entry with mass");
        assertEquals(500, VerticalSlashEstimator.massBudget(s, n, 30, new HeadPattern.Adaptive(0.99, 1, 500)));
        assertEquals(300, VerticalSlashEstimator.massBudget(s, n, 30, new HeadPattern.Adaptive(0.01, 300, 500)));
        assertEquals(64, VerticalSlashEstimator.massBudget(s, 64, 30, new HeadPattern.Adaptive(0.5, 100, 500)),
                "never more than n");
    }

    @Test
    void itsPlanIsTheFixedVerticalSlashPlanOfTheBudgetsItChose() {
        Random r = new Random(11);
        int n = 1500, d = 32;
        // a few keys every query likes: a peaked head
        float[][] qk = TestInputs.attendedKeys(r, n, d, 1.0, 0.8f, 2.5f, 200, 777, 1100);
        float[] q = qk[0], k = qk[1];
        HeadPattern.Adaptive a = new HeadPattern.Adaptive(0.9, 50, 1200);
        VerticalSlashEstimator.Scores s = VerticalSlashEstimator.scores(q, k, n, d);
        int columns = VerticalSlashEstimator.massBudget(s.vertical(), n, VerticalSlashEstimator.FORCED_COLUMNS, a);
        int offsets = VerticalSlashEstimator.massBudget(s.slash(), n, VerticalSlashEstimator.FORCED_OFFSETS, a);
        VerticalSlashIndex adaptive = VerticalSlashEstimator.estimateAdaptive(q, k, n, d, a);
        assertEquals(VerticalSlashEstimator.estimate(q, k, n, d, columns, offsets), adaptive);
        // the kept columns hold at least gamma of the estimate's column mass
        double total = 0, kept = 0;
        for (float v : s.vertical()) total += v;
        for (int j : adaptive.columns()) kept += s.vertical()[j];
        assertTrue(kept >= 0.9 * total - 1e-6, kept + " of " + total);
        // the peaked head needs far fewer columns than its cap
        assertTrue(columns < 600, "columns " + columns);
        BlockPlan plan = HeadPlanner.plan(a, 512, q, k, n, d);
        assertEquals(RangePlan.fromVerticalSlash(n, adaptive).computedEntries(), plan.computedEntries());
        assertTrue(plan.density() < 0.9, "density " + plan.density());
        // below min_sparse_length the head is dense, like every pattern
        assertEquals(TestInputs.causalEntries(n), HeadPlanner.plan(a, n + 1, q, k, n, d).computedEntries());
    }

    @Test
    void configFormReadsWritesAndRejectsBadValues() throws IOException {
        String json = """
            {"format": "prefill-patterns/1", "model": "m", "num_layers": 1, "num_heads": 3,
             "default": {"pattern": "adaptive", "gamma": 0.95},
             "layers": [{"1": {"pattern": "adaptive", "gamma": 0.9, "min_budget": 64, "max_budget": 2048},
                         "2": {"pattern": "dense"}}]}
            """;
        Path file = Files.writeString(dir.resolve("a.json"), json);
        PatternConfig c = PatternConfig.read(file);
        assertEquals(new HeadPattern.Adaptive(0.95, HeadPattern.Adaptive.DEFAULT_MIN_BUDGET,
                HeadPattern.Adaptive.DEFAULT_MAX_BUDGET), c.pattern(0, 0));
        assertEquals(new HeadPattern.Adaptive(0.9, 64, 2048), c.pattern(0, 1));
        Path again = Files.writeString(dir.resolve("b.json"), PrefillPatternFormat.write(c));
        PatternConfig back = PatternConfig.read(again);
        for (int h = 0; h < 3; h++) assertEquals(c.pattern(0, h), back.pattern(0, h));

        for (String[] bad : List.of(
                new String[] {"{\"pattern\": \"adaptive\"}", "missing field \"gamma\""},
                new String[] {"{\"pattern\": \"adaptive\", \"gamma\": 0}", "gamma must be in (0, 1]"},
                new String[] {"{\"pattern\": \"adaptive\", \"gamma\": 1.5}", "gamma must be in (0, 1]"},
                new String[] {"{\"pattern\": \"adaptive\", \"gamma\": \"high\"}", "must be a number"},
                new String[] {"{\"pattern\": \"adaptive\", \"gamma\": 0.9, \"min_budget\": 500, \"max_budget\": 100}",
                        "max_budget must be >= min_budget"},
                new String[] {"{\"pattern\": \"adaptive\", \"gamma\": 0.9, \"top_k\": 5}", "unknown field \"top_k\""})) {
            Path f = Files.writeString(dir.resolve("bad.json"), """
                {"format": "prefill-patterns/1", "model": "m", "num_layers": 1, "num_heads": 2, "layers": [{"1": %s}]}
                """.formatted(bad[0]));
            PatternConfigException e = assertThrows(PatternConfigException.class, () -> PatternConfig.read(f));
            assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("head 1")
                    && e.getMessage().contains(bad[1]), e.getMessage());
        }
    }

    @Test
    void bothBackendsAcceptAdaptiveHeads() {
        ModelConfig model = new ModelConfig(io.prefill.model.Architecture.LLAMA, 1000, 256, 688, 2, 4, 2, 64, 1e-5,
                10000.0, io.prefill.model.RopeScaling.NONE, 4096, false, false, 1, 2);
        HeadPattern vs = new HeadPattern.VerticalSlash(64, 256);
        PatternConfig patterns = new PatternConfig("m", 2, 4, 512, List.of(List.of(vs, vs, vs, vs),
                List.of(vs, vs, vs, new HeadPattern.Adaptive(0.95, 100, 4096))));
        ForwardBackends.checkSupported("cuda", model, patterns);
        ForwardBackends.checkSupported("cpu", model, patterns);
    }

    @Test
    void unknownPatternListsAdaptive() throws IOException {
        Path f = Files.writeString(dir.resolve("bad.json"), """
            {"format": "prefill-patterns/1", "model": "m", "num_layers": 1, "num_heads": 1, "layers": [{"0": {"pattern": "flex"}}]}
            """);
        PatternConfigException e = assertThrows(PatternConfigException.class, () -> PatternConfig.read(f));
        assertTrue(Arrays.asList(e.getMessage().split("[ ,)]+")).contains("adaptive"), e.getMessage());
    }
}
