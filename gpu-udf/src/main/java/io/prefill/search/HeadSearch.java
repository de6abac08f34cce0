package io.prefill.search;

import io.prefill.sparse.BlockPlan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The search for one head on one document: every family fitted to the target cost and scored
 * against dense (a family fitted over all documents: every step scored).
 */
public final class HeadSearch {
    private HeadSearch() { }

    /** One score per family, in the options' family order, for a search of this one document. */
    public static List<CandidateScore> evaluate(HeadInputs in, SearchOptions options) {
        return evaluate(in, options, 1);
    }

    /**
     * One score per family, in the options' family order. A family fitted over all documents
     * ({@link PatternFamily#fittedOverDocuments}) gets its largest step within the target on this
     * document, with every step's score in {@link CandidateScore#steps()}: each step's cost, and its
     * error and recall where its cost here is at most documents x 1.1 x target (above that its mean
     * over the documents cannot come within the target; the first step is always measured).
     *
     * @param documents the number of calibration documents of the search
     */
    public static List<CandidateScore> evaluate(HeadInputs in, SearchOptions options, int documents) {
        DenseReference dense = new DenseReference(in, options.recallRows(), options.scoredRows());
        List<CandidateScore> scores = new ArrayList<>();
        for (PatternFamily family : options.families()) {
            if (family.fittedOverDocuments()) {
                scores.add(everyStep(family, in, dense, options, documents));
                continue;
            }
            BudgetFit.Fitted fit = BudgetFit.fit(family.planner(in), family.minBudget(),
                family.maxBudget(in.n()), options.targetCost());
            scores.add(new CandidateScore(family, family.pattern(fit.budget()), fit.cost(),
                dense.relativeError(fit.plan()), dense.recall(fit.plan())));
        }
        return scores;
    }

    private static CandidateScore everyStep(PatternFamily family, HeadInputs in, DenseReference dense,
                                            SearchOptions options, int documents) {
        IntFunction<BlockPlan> planner = family.planner(in);
        double measuredUpTo = documents * options.targetCost() * 1.1;
        // Steps grow their plans, so steps of the same entry count have the same plan: measured once.
        Map<Long, double[]> measured = new HashMap<>();
        List<CandidateScore> steps = new ArrayList<>();
        CandidateScore withinTarget = null;
        for (int b = family.minBudget(); b <= family.maxBudget(in.n()); b++) {
            BlockPlan plan = planner.apply(b);
            double cost = plan.density();
            double[] errorRecall = b == family.minBudget() || cost <= measuredUpTo
                ? measured.computeIfAbsent(plan.computedEntries(), e -> new double[] {dense.relativeError(plan), dense.recall(plan)})
                : new double[] {Double.NaN, Double.NaN};
            CandidateScore step = new CandidateScore(family, family.pattern(b), cost, errorRecall[0], errorRecall[1]);
            steps.add(step);
            if (withinTarget == null || cost <= options.targetCost()) withinTarget = step;
        }
        return new CandidateScore(family, withinTarget.pattern(), withinTarget.cost(), withinTarget.error(),
            withinTarget.recall(), withinTarget.cost(), withinTarget.cost(), steps);
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
        return choose(scores, options, 0);
    }

    /**
     * The same where errors closer than errorFloor cannot be told apart (the scorer's rounding,
     * {@link CalibrationScorer#errorFloor()}): the slack is then max(tol/1000, errorFloor).
     */
    public static CandidateScore choose(List<CandidateScore> scores, SearchOptions options, double errorFloor) {
        List<CandidateScore> fitting = scores.stream().filter(s -> s.cost() <= options.targetCost() * 1.1).toList();
        if (fitting.isEmpty()) return scores.stream().min(Comparator.comparingDouble(CandidateScore::cost)).orElseThrow();
        double best = fitting.stream().mapToDouble(CandidateScore::error).min().orElseThrow();
        double tied = best * (1 + options.tieTolerance()) + Math.max(options.tieTolerance() / 1000, errorFloor);
        return fitting.stream().filter(s -> s.error() <= tied)
            .min(Comparator.comparingInt((CandidateScore s) -> s.family().ordinal())).orElseThrow();
    }
}
