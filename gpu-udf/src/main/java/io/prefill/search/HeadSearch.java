package io.prefill.search;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The search for one head on one document: every family fitted to the target cost and scored against dense. */
public final class HeadSearch {
    private HeadSearch() { }

    /** One score per family, in the options' family order. */
    public static List<CandidateScore> evaluate(HeadInputs in, SearchOptions options) {
        DenseReference dense = new DenseReference(in, options.recallRows(), options.scoredRows());
        List<CandidateScore> scores = new ArrayList<>();
        for (PatternFamily family : options.families()) {
            BudgetFit.Fitted fit = BudgetFit.fit(family.planner(in), family.minBudget(),
                family.maxBudget(in.n()), options.targetCost());
            scores.add(new CandidateScore(family, family.pattern(fit.budget()), fit.cost(),
                dense.relativeError(fit.plan()), dense.recall(fit.plan())));
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
