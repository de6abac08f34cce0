package io.prefill.search;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.BlockSparseEstimator;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.VerticalSlashEstimator;
import io.prefill.sparse.VerticalSlashIndex;

import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The candidate families the search tries, each with one integer budget that the search fits to
 * the target cost. Listed in order of preference on a near tie: a static pattern needs no online
 * estimate, the block-sparse estimate is cheaper than the vertical-slash one, and an adaptive
 * head's cost is known only once its input is. {@link #DEFAULT} leaves adaptive out: its cost
 * follows the input, so a config with adaptive heads meets the target on average over the
 * calibration documents, not on each prompt, and its ladder of gammas makes the search slower
 * (two to three times on the cpu). Both backends search it, and run it, when asked for.
 */
public enum PatternFamily {
    /** Sinks [0, 64) plus a window of budget diagonals. */
    A_SHAPE("a_shape") {
        @Override public HeadPattern pattern(int budget) { return new HeadPattern.AShape(A_SHAPE_SINKS, budget); }
        @Override IntFunction<BlockPlan> planner(HeadInputs in) {
            return b -> RangePlan.fromVerticalSlash(in.n(), VerticalSlashIndex.aShape(in.n(), A_SHAPE_SINKS, b));
        }
    },
    /** budget key blocks per query block. */
    BLOCK_SPARSE("block_sparse") {
        @Override public HeadPattern pattern(int budget) { return new HeadPattern.BlockSparse(budget); }
        @Override public int maxBudget(int n) { return BlockPlan.blocks(n); }
        @Override IntFunction<BlockPlan> planner(HeadInputs in) {
            return b -> RangePlan.fromKeyBlocks(in.n(),
                BlockSparseEstimator.topKeyBlocks(in.q(), in.k(), in.n(), in.d(), b));
        }
    },
    /** budget columns and budget diagonals beyond the forced ones. */
    VERTICAL_SLASH("vertical_slash") {
        @Override public HeadPattern pattern(int budget) { return verticalSlash(budget, budget); }
        @Override public int minBudget() { return 0; }
        @Override IntFunction<BlockPlan> planner(HeadInputs in) { return vsPlanner(in, this); }
    },
    /** budget columns and 4 x budget diagonals beyond the forced ones: MInference's published budgets lean to slashes (1000, 6096). */
    VERTICAL_SLASH_WIDE("vertical_slash") {
        @Override public HeadPattern pattern(int budget) { return verticalSlash(budget, 4L * budget); }
        @Override public int minBudget() { return 0; }
        @Override IntFunction<BlockPlan> planner(HeadInputs in) { return vsPlanner(in, this); }
    },
    /**
     * Adaptive vertical-slash at the budget-th gamma of {@link #ADAPTIVE_GAMMAS} (budgets 100 to
     * 6096, the config defaults): its columns and diagonals follow each input's attention mass, so
     * its cost does too. One gamma serves every document ({@link #fittedOverDocuments}).
     */
    ADAPTIVE("adaptive") {
        @Override public HeadPattern pattern(int budget) {
            return new HeadPattern.Adaptive(ADAPTIVE_GAMMAS[budget - 1], HeadPattern.Adaptive.DEFAULT_MIN_BUDGET,
                HeadPattern.Adaptive.DEFAULT_MAX_BUDGET);
        }
        @Override public int maxBudget(int n) { return ADAPTIVE_GAMMAS.length; }
        @Override public boolean fittedOverDocuments() { return true; }
        @Override IntFunction<BlockPlan> planner(HeadInputs in) {
            VerticalSlashEstimator.Scores scores = VerticalSlashEstimator.scores(in.q(), in.k(), in.n(), in.d());
            return b -> RangePlan.fromVerticalSlash(in.n(),
                VerticalSlashEstimator.selectAdaptive(scores, in.n(), (HeadPattern.Adaptive) pattern(b)));
        }
    };

    /** The families searched unless others are asked for: those fitted to the target on every document (not adaptive). */
    public static final List<PatternFamily> DEFAULT = List.of(A_SHAPE, BLOCK_SPARSE, VERTICAL_SLASH, VERTICAL_SLASH_WIDE);

    static final int A_SHAPE_SINKS = 64;
    /** The adaptive family's steps: the gammas it tries, ascending (so its plans grow step by step). */
    static final double[] ADAPTIVE_GAMMAS = {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.985,
        0.99, 0.995, 0.998, 0.999};

    private final String patternName;

    PatternFamily(String patternName) { this.patternName = patternName; }

    /** The pattern name in configs (both vertical-slash shapes are "vertical_slash"). */
    public String patternName() { return patternName; }

    public abstract HeadPattern pattern(int budget);

    public int minBudget() { return 1; }

    /**
     * The forced columns (0..29) and diagonals (0..99) take the first slots of the online budgets,
     * so the budgets count extra columns and diagonals on top of them.
     */
    private static HeadPattern verticalSlash(long extraColumns, long extraDiagonals) {
        return new HeadPattern.VerticalSlash(
            (int) Math.min(Integer.MAX_VALUE, VerticalSlashEstimator.FORCED_COLUMNS + extraColumns),
            (int) Math.min(Integer.MAX_VALUE, VerticalSlashEstimator.FORCED_OFFSETS + extraDiagonals));
    }

    public int maxBudget(int n) { return n; }

    /**
     * Whether one budget is fitted for all calibration documents together, on their mean measured
     * cost, instead of on each document: for a family whose cost follows the input, a per-document
     * fit would score heads the config does not get (the config gets one), and would hide the very
     * thing the family does, spending more on one document and less on another. Every step is
     * measured on every document ({@link HeadSearch#evaluate}); {@link PatternSearch} picks the step.
     */
    public boolean fittedOverDocuments() { return false; }

    /** The families of one config pattern name ("vertical_slash" names both of its shapes), in preference order. */
    public static List<PatternFamily> named(String patternName) {
        return Arrays.stream(values()).filter(f -> f.patternName.equals(patternName)).toList();
    }

    /** The config pattern names of every family, in preference order, once each. */
    public static List<String> patternNames() {
        return Arrays.stream(values()).map(PatternFamily::patternName).distinct().toList();
    }

    /** Budget -> this input's plan, exactly as {@link io.prefill.sparse.HeadPlanner} builds it. */
    abstract IntFunction<BlockPlan> planner(HeadInputs in);

    /** The online scores depend only on Q and K, so they are estimated once and re-selected per budget. */
    private static IntFunction<BlockPlan> vsPlanner(HeadInputs in, PatternFamily family) {
        VerticalSlashEstimator.Scores scores = VerticalSlashEstimator.scores(in.q(), in.k(), in.n(), in.d());
        return b -> {
            HeadPattern.VerticalSlash p = (HeadPattern.VerticalSlash) family.pattern(b);
            return RangePlan.fromVerticalSlash(in.n(),
                VerticalSlashEstimator.select(scores, in.n(), p.verticalSize(), p.slashSize()));
        };
    }
}
