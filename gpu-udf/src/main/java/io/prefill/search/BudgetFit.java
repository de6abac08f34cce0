package io.prefill.search;

import io.prefill.sparse.BlockPlan;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * Fits a family's budget to a target cost by bisection on the plan's real computed entries (after
 * block rounding and forced columns, diagonals and blocks), not on the nominal budget: the largest
 * budget whose plan stays within the target, or the smallest budget when even that exceeds it.
 * Cost grows with the budget (more columns, diagonals or blocks never remove an entry).
 */
public final class BudgetFit {
    private BudgetFit() { }

    /** A budget, its plan for this input, and the plan's cost as a fraction of dense causal. */
    public record Fitted(int budget, BlockPlan plan, double cost) { }

    /** Fitted budgets of many heads and their costs (fractions of dense causal). */
    public record Fits(int[] budgets, double[] costs) { }

    /** One head, its plans built by planner. */
    public static Fitted fit(IntFunction<BlockPlan> planner, int minBudget, int maxBudget, double targetCost) {
        Map<Integer, BlockPlan> plans = new HashMap<>();
        Fits fits = fitAll(1, minBudget, maxBudget, targetCost, b -> {
            BlockPlan plan = plans.computeIfAbsent(b[0], planner::apply);
            return new double[] {plan.density()};
        });
        return new Fitted(fits.budgets()[0], plans.get(fits.budgets()[0]), fits.costs()[0]);
    }

    /**
     * All heads in lock-step, each bisected exactly as a lone head would be; one call of costs per
     * step evaluates every head's trial budget at once (on the device: one launch for all heads).
     * Heads that have finished are evaluated again at their fitted budget.
     *
     * @param costs budgets[h] -> cost[h], the fraction of dense causal attention head h's plan computes
     */
    public static Fits fitAll(int heads, int minBudget, int maxBudget, double targetCost, Function<int[], double[]> costs) {
        int[] best = new int[heads], lo = new int[heads], hi = new int[heads];
        double[] bestCost = costs.apply(filled(heads, minBudget)).clone();
        for (int h = 0; h < heads; h++) {
            best[h] = minBudget;
            lo[h] = minBudget + 1;
            hi[h] = bestCost[h] > targetCost ? minBudget : maxBudget;  // over target even at the minimum: done
        }
        int[] trial = new int[heads];
        while (true) {
            boolean any = false;
            for (int h = 0; h < heads; h++) {
                boolean active = lo[h] <= hi[h];
                trial[h] = active ? lo[h] + (hi[h] - lo[h]) / 2 : best[h];
                any |= active;
            }
            if (!any) return new Fits(best, bestCost);
            double[] cost = costs.apply(trial.clone());
            for (int h = 0; h < heads; h++) {
                if (lo[h] > hi[h]) continue;
                if (cost[h] <= targetCost) {
                    best[h] = trial[h];
                    bestCost[h] = cost[h];
                    lo[h] = trial[h] + 1;
                } else {
                    hi[h] = trial[h] - 1;
                }
            }
        }
    }

    private static int[] filled(int n, int value) {
        int[] a = new int[n];
        Arrays.fill(a, value);
        return a;
    }
}
