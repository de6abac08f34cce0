package io.prefill.search;

import io.prefill.sparse.BlockPlan;

import java.util.function.IntFunction;

/**
 * Fits a family's budget to a target cost by bisection on the plan's real computed entries (after
 * block rounding and forced columns, diagonals and blocks), not on the nominal budget: the largest
 * budget whose plan stays within the target, or the smallest budget when even that exceeds it.
 */
public final class BudgetFit {
    private BudgetFit() { }

    /** A budget, its plan for this input, and the plan's cost as a fraction of dense causal. */
    public record Fitted(int budget, BlockPlan plan, double cost) { }

    public static Fitted fit(IntFunction<BlockPlan> planner, int minBudget, int maxBudget, double targetCost) {
        BlockPlan low = planner.apply(minBudget);
        if (low.density() > targetCost) return new Fitted(minBudget, low, low.density());
        Fitted best = new Fitted(minBudget, low, low.density());
        int lo = minBudget + 1;
        int hi = maxBudget;
        // Cost grows with the budget (more columns, diagonals or blocks never remove an entry).
        while (lo <= hi) {
            int mid = lo + (hi - lo) / 2;
            BlockPlan plan = planner.apply(mid);
            if (plan.density() <= targetCost) {
                best = new Fitted(mid, plan, plan.density());
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return best;
    }
}
