package io.prefill.sparse;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeadPlannerTest {
    private static final int D = 8;

    private static float[] random(int n, long seed) { return TestInputs.gaussian(new Random(seed), n, D, 1); }

    @ParameterizedTest
    @ValueSource(ints = {1, 65, 1000})
    void shortSequencesAndDenseHeadsRunDense(int n) {
        float[] q = random(n, 1), k = random(n, 2);
        List<HeadPattern> patterns = List.of(new HeadPattern.VerticalSlash(30, 50), new HeadPattern.AShape(1, 1),
            new HeadPattern.BlockSparse(1));
        for (HeadPattern p : patterns) {
            assertEquals(TestInputs.causalEntries(n), HeadPlanner.plan(p, n + 1, q, k, n, D).computedEntries(), p.toString());
        }
        assertEquals(TestInputs.causalEntries(n), HeadPlanner.plan(new HeadPattern.Dense(), 0, q, k, n, D).computedEntries());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 63, 200, 1537})
    void budgetsCoveringEverythingGiveEveryCausalEntry(int n) {
        float[] q = random(n, 3), k = random(n, 4);
        int blocks = BlockPlan.blocks(n);
        List<HeadPattern> patterns = List.of(new HeadPattern.VerticalSlash(n, n), new HeadPattern.AShape(0, n),
            new HeadPattern.BlockSparse(blocks));
        for (HeadPattern p : patterns) {
            BlockPlan plan = HeadPlanner.plan(p, 0, q, k, n, D);
            assertEquals(TestInputs.causalEntries(n), plan.computedEntries(), p.toString());
            assertEquals(1.0, plan.density(), 1e-12);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {65, 1000})
    void aSequenceOfExactlyMinSparseLengthIsSparse(int n) {
        float[] q = random(n, 7), k = random(n, 8);
        BlockPlan plan = HeadPlanner.plan(new HeadPattern.AShape(1, 1), n, q, k, n, D);
        assertTrue(plan.computedEntries() < TestInputs.causalEntries(n), plan.toString());
    }

    @ParameterizedTest
    @ValueSource(ints = {1537})
    void smallBudgetsAreSparse(int n) {
        float[] q = random(n, 5), k = random(n, 6);
        List<HeadPattern> patterns = List.of(new HeadPattern.VerticalSlash(30, 50), new HeadPattern.AShape(16, 64),
            new HeadPattern.BlockSparse(3));
        for (HeadPattern p : patterns) {
            BlockPlan plan = HeadPlanner.plan(p, 1024, q, k, n, D);
            assertTrue(plan.density() < 0.5, p + " density " + plan.density());
            assertEquals(TestInputs.bruteForceCount(plan), plan.computedEntries(), p.toString());
        }
    }
}
