package io.prefill.search;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.HeadPlanner;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The search for one head on one document: every family fitted to the target cost (or, for one
 * fitted on the longest document only, that document's pattern measured here) and scored against dense.
 */
public final class HeadSearch {
    private HeadSearch() { }

    /** One score per family, in the options' family order, every family fitted on this input. */
    public static List<CandidateScore> evaluate(HeadInputs in, SearchOptions options) {
        return evaluate(in, options, null);
    }

    /**
     * One score per family, in the options' family order. A family fitted on the longest document
     * only ({@link PatternFamily#fittedOnLongestOnly}) keeps the pattern of {@code fittedOnLongest}
     * and is measured as is: its plan for this input as {@link HeadPlanner} builds it, and that
     * plan's cost.
     *
     * @param fittedOnLongest this head's scores on the longest document, in the same family order;
     *                        null when this is the longest document (every family is fitted here)
     */
    public static List<CandidateScore> evaluate(HeadInputs in, SearchOptions options, List<CandidateScore> fittedOnLongest) {
        DenseReference dense = new DenseReference(in, options.recallRows(), options.scoredRows());
        List<CandidateScore> scores = new ArrayList<>();
        for (int f = 0; f < options.families().size(); f++) {
            PatternFamily family = options.families().get(f);
            HeadPattern pattern;
            BlockPlan plan;
            if (fittedOnLongest != null && family.fittedOnLongestOnly()) {
                pattern = fittedOnLongest.get(f).pattern();
                plan = HeadPlanner.plan(pattern, 0, in.q(), in.k(), in.n(), in.d());
            } else {
                BudgetFit.Fitted fit = BudgetFit.fit(family.planner(in), family.minBudget(),
                    family.maxBudget(in.n()), options.targetCost());
                pattern = family.pattern(fit.budget());
                plan = fit.plan();
            }
            scores.add(new CandidateScore(family, pattern, plan.density(), dense.relativeError(plan), dense.recall(plan)));
        }
        return scores;
    }

    /**
     * The winner among candidates: over-budget candidates (their smallest plan already exceeds
     * the target by more than 10%) only compete when nothing fits; among the rest the lowest
     * error, except that a family earlier in the preference order wins a near tie: within
     * (1 + tol) of the best error, plus tol/1000 so that exact plans (error 0) tie. The slack is
     * tiny on purpose: on a trained model's long prompts every family's error can be below 0.01,
     * and a slack of that size made an 18 times worse block-sparse head "tie" with vertical-slash
     * and win by preference (32K needle calibration: it lost 8 of 100 answers at 32K tokens).
     */
    public static CandidateScore choose(List<CandidateScore> scores, SearchOptions options) {
        List<CandidateScore> fitting = scores.stream().filter(s -> s.cost() <= options.targetCost() * 1.1).toList();
        if (fitting.isEmpty()) return scores.stream().min(Comparator.comparingDouble(CandidateScore::cost)).orElseThrow();
        double best = fitting.stream().mapToDouble(CandidateScore::error).min().orElseThrow();
        double tied = best * (1 + options.tieTolerance()) + options.tieTolerance() / 1000;
        return fitting.stream().filter(s -> s.error() <= tied)
            .min(Comparator.comparingInt((CandidateScore s) -> s.family().ordinal())).orElseThrow();
    }
}
