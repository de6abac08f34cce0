package io.prefill.search;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The adaptive family's score on one head and document as {@link HeadSearch#evaluate} defines it,
 * checked on what any scorer returned (the CPU's, the device's).
 */
public final class AdaptiveSteps {
    private AdaptiveSteps() { }

    /**
     * Every gamma of the ladder in order, each with its cost; error and recall measured (finite,
     * recall in (0, 1]) at the first step and wherever the cost is at most documents x 1.1 x
     * target, NaN at every other step; and the score itself is the largest step whose cost is
     * within the target (else the first), that step's cost its lowest and highest.
     *
     * @param documents the documents count the scorer was given
     */
    public static void assertFollowTheRule(CandidateScore adaptive, SearchOptions options, int documents, String what) {
        assertEquals(PatternFamily.ADAPTIVE, adaptive.family(), what);
        List<CandidateScore> steps = adaptive.steps();
        assertEquals(PatternFamily.ADAPTIVE_GAMMAS.length, steps.size(), what + ": one score per gamma");
        double measuredUpTo = documents * options.targetCost() * 1.1;
        CandidateScore withinTarget = steps.get(0);
        for (int s = 0; s < steps.size(); s++) {
            CandidateScore step = steps.get(s);
            String at = what + ", step " + s + ": " + step;
            assertEquals(PatternFamily.ADAPTIVE.pattern(s + 1), step.pattern(), at);
            assertTrue(step.cost() > 0 && step.cost() <= 1, at);
            boolean measured = s == 0 || step.cost() <= measuredUpTo;
            assertEquals(measured, !Double.isNaN(step.error()), "error measured where the rule measures it: " + at);
            assertEquals(measured, !Double.isNaN(step.recall()), "recall measured where the rule measures it: " + at);
            if (measured) {
                assertTrue(Double.isFinite(step.error()) && step.error() >= 0, at);
                assertTrue(step.recall() > 0 && step.recall() <= 1 + 1e-6, at);
            }
            if (step.cost() <= options.targetCost()) withinTarget = step;
        }
        assertEquals(withinTarget.pattern(), adaptive.pattern(), what + ": the largest step within the target");
        assertEquals(withinTarget.cost(), adaptive.cost(), 0.0, what);
        assertEquals(withinTarget.error(), adaptive.error(), 0.0, what);
        assertEquals(withinTarget.recall(), adaptive.recall(), 0.0, what);
        assertEquals(adaptive.cost(), adaptive.lowestCost(), 0.0, what);
        assertEquals(adaptive.cost(), adaptive.highestCost(), 0.0, what);
    }
}
