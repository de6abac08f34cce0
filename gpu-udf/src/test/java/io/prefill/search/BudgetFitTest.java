package io.prefill.search;

import io.prefill.sparse.RangePlan;
import io.prefill.sparse.VerticalSlashIndex;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lock-step bisection of many heads gives each head the budget a lone bisection gives it. */
class BudgetFitTest {
    @Test
    void lockStepEqualsOneHeadAtATime() {
        Random rnd = new Random(3);
        int heads = 9, max = 5000;
        // monotone step costs with a different slope and offset per head; head 0 is over target at the minimum
        double[] slope = new double[heads], offset = new double[heads];
        for (int h = 0; h < heads; h++) { slope[h] = 1e-5 + rnd.nextDouble() * 1e-3; offset[h] = rnd.nextDouble() * 0.05; }
        offset[0] = 0.5;
        double target = 0.1;
        int[] calls = {0};
        BudgetFit.Fits all = BudgetFit.fitAll(heads, 1, max, target, b -> {
            calls[0]++;
            double[] c = new double[heads];
            for (int h = 0; h < heads; h++) c[h] = cost(slope[h], offset[h], b[h]);
            return c;
        });
        for (int h = 0; h < heads; h++) {
            final int hh = h;
            BudgetFit.Fits one = BudgetFit.fitAll(1, 1, max, target, b -> new double[] {cost(slope[hh], offset[hh], b[0])});
            assertEquals(one.budgets()[0], all.budgets()[h], "head " + h);
            assertEquals(one.costs()[0], all.costs()[h], 0.0, "head " + h);
            if (h > 0) {
                assertTrue(all.costs()[h] <= target, "within target");
                assertTrue(cost(slope[h], offset[h], all.budgets()[h] + 1) > target, "largest such budget");
            }
        }
        assertEquals(1, all.budgets()[0], "over target at the minimum: the minimum");
        assertTrue(calls[0] <= 2 + (int) Math.ceil(Math.log(max) / Math.log(2)), "one evaluation per step for all heads: " + calls[0]);
    }

    @Test
    void singleHeadFitReturnsThePlanOfItsBudget() {
        int n = 2048;
        BudgetFit.Fitted f = BudgetFit.fit(b -> RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, 64, b)), 1, n, 0.2);
        RangePlan again = RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, 64, f.budget()));
        assertEquals(again.computedEntries(), f.plan().computedEntries());
        assertEquals(again.density(), f.cost(), 0.0);
        assertTrue(f.cost() <= 0.2);
        assertTrue(RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, 64, f.budget() + 1)).density() > 0.2);
    }

    private static double cost(double slope, double offset, int budget) {
        return offset + Math.floor(budget / 7.0) * 7 * slope;  // plateaus, like block rounding
    }
}
