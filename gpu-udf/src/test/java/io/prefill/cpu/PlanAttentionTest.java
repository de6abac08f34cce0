package io.prefill.cpu;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.HeadPlanner;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.TestInputs;
import io.prefill.sparse.VerticalSlashIndex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** PlanAttention against brute-force attention under the plan's own mask. */
class PlanAttentionTest {
    private static final int D = 16;
    private static final float TOLERANCE = 1e-5f;

    private static final List<HeadPattern> PATTERNS = List.of(
        new HeadPattern.VerticalSlash(30, 50),          // the minimum budgets
        new HeadPattern.VerticalSlash(1000, 6096),      // budgets beyond n for all lengths here but 1537
        new HeadPattern.AShape(4, 16),
        new HeadPattern.AShape(0, 100),
        new HeadPattern.AShape(128, 4096),
        new HeadPattern.BlockSparse(2),
        new HeadPattern.BlockSparse(100));

    static Stream<Arguments> patternsAndLengths() {
        return Stream.of(1, 63, 65, 200, 1000, 1537)
            .flatMap(n -> PATTERNS.stream().map(p -> Arguments.of(p, n)));
    }

    @ParameterizedTest(name = "{0}, n={1}")
    @MethodSource("patternsAndLengths")
    void sparseModesEqualAttentionUnderTheirMask(HeadPattern pattern, int n) {
        Random random = new Random(1000L * n + pattern.hashCode());
        float[] q = TestInputs.gaussian(random, n, D, 1);
        float[] k = TestInputs.gaussian(random, n, D, 1);
        float[] v = TestInputs.gaussian(random, n, D, 1);
        BlockPlan plan = HeadPlanner.plan(pattern, 0, q, k, n, D);

        float[] actual = new float[n * D];
        PlanAttention.attend(q, k, v, n, D, plan, actual);
        float[] expected = new float[n * D];
        AttentionReference.masked(q, k, v, n, D, plan::contains, expected);
        assertClose(expected, actual, pattern + " n=" + n);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 65, 200, 1000})
    void anyPlanEqualsAttentionUnderItsMask(int n) {
        // Random columns and diagonals, offset 0 left out so that leftover columns reach the
        // diagonal; column 0 keeps every row non-empty.
        Random random = new Random(n + 5L);
        int[] columns = IntStream.concat(IntStream.of(0), IntStream.of(TestInputs.randomSubset(random, n, n / 3)))
            .distinct().sorted().toArray();
        int[] offsets = IntStream.of(TestInputs.randomSubset(random, n, n / 20 + 1)).filter(o -> o > 0).toArray();
        BlockPlan plan = RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(columns, offsets));
        float[] q = TestInputs.gaussian(random, n, D, 1);
        float[] k = TestInputs.gaussian(random, n, D, 1);
        float[] v = TestInputs.gaussian(random, n, D, 1);
        float[] actual = new float[n * D];
        PlanAttention.attend(q, k, v, n, D, plan, actual);
        float[] expected = new float[n * D];
        AttentionReference.masked(q, k, v, n, D, plan::contains, expected);
        assertClose(expected, actual, "random plan n=" + n);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 63, 65, 200, 1537})
    void budgetsCoveringEverythingEqualDenseCausalAttention(int n) {
        Random random = new Random(n);
        float[] q = TestInputs.gaussian(random, n, D, 1);
        float[] k = TestInputs.gaussian(random, n, D, 1);
        float[] v = TestInputs.gaussian(random, n, D, 1);
        float[] dense = new float[n * D];
        AttentionReference.causal(q, k, v, n, D, dense);
        int blocks = BlockPlan.blocks(n);
        for (HeadPattern p : List.of(new HeadPattern.VerticalSlash(n, n), new HeadPattern.BlockSparse(blocks),
                                     new HeadPattern.AShape(0, n), new HeadPattern.Dense())) {
            float[] out = new float[n * D];
            PlanAttention.attend(q, k, v, n, D, HeadPlanner.plan(p, 0, q, k, n, D), out);
            assertClose(dense, out, p + " n=" + n);
        }
    }

    @Test
    void sparsePlansReallyDropEntries() {
        // Guards the tests above: with small budgets the sparse output must differ from dense,
        // otherwise an implementation that ignored the plan would pass them.
        int n = 1537;
        Random random = new Random(99);
        float[] q = TestInputs.gaussian(random, n, D, 1);
        float[] k = TestInputs.gaussian(random, n, D, 1);
        float[] v = TestInputs.gaussian(random, n, D, 1);
        float[] dense = new float[n * D];
        AttentionReference.causal(q, k, v, n, D, dense);
        for (HeadPattern p : List.of(new HeadPattern.VerticalSlash(30, 50), new HeadPattern.AShape(4, 16),
                                     new HeadPattern.BlockSparse(2))) {
            float[] out = new float[n * D];
            PlanAttention.attend(q, k, v, n, D, HeadPlanner.plan(p, 0, q, k, n, D), out);
            float maxDiff = 0;
            for (int t = 0; t < out.length; t++) maxDiff = Math.max(maxDiff, Math.abs(out[t] - dense[t]));
            assertTrue(maxDiff > 1e-2, p + " output equals dense attention");
        }
    }

    @Test
    void aRowWithoutKeysIsAnError() {
        RangePlan plan = new RangePlan(2, new int[][] {{1, 2}}, new int[][] {{}});
        float[] x = new float[2 * D];
        assertThrows(IllegalArgumentException.class, () -> PlanAttention.attend(x, x, x, 2, D, plan, new float[2 * D]));
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        for (int t = 0; t < expected.length; t++) {
            if (!(Math.abs(expected[t] - actual[t]) <= TOLERANCE)) {
                fail(what + ": row " + t / D + " dim " + t % D + ": expected " + expected[t] + " got " + actual[t]);
            }
        }
    }
}
