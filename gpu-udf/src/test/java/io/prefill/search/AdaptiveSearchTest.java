package io.prefill.search;

import io.prefill.model.Architecture;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeScaling;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.HeadPlanner;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The adaptive family in the search: one gamma for every calibration document, fitted on their
 * mean measured cost; where it wins (a head whose attention widens on one document and narrows on
 * another), where a fixed family wins, near ties, the report, the config round trip, and the rule
 * for which steps are measured that every scorer follows ({@link AdaptiveSteps}; the device's
 * against the CPU's in GpuPatternSearchTest).
 */
class AdaptiveSearchTest {
    private static final double TARGET = 0.3;
    /** The vertical-slash form of each family, and A-shape: the same online estimate, fixed budgets or adaptive. */
    private static final List<PatternFamily> VERTICAL_SLASH_FAMILIES = List.of(PatternFamily.A_SHAPE,
        PatternFamily.VERTICAL_SLASH, PatternFamily.VERTICAL_SLASH_WIDE, PatternFamily.ADAPTIVE);
    /**
     * Head 0: a far diagonal band, wide on the longer document (needs more than the target), narrow
     * on the other (needs far less). Head 1: a planted block-sparse head on both.
     */
    private static final Map<String, List<HeadInputs>> HEADS = Map.of(
        "wide", List.of(PlantedHeads.wideBand(4096, 1500, 150, 1), PlantedHeads.blockSparse(4096, 3)),
        "narrow", List.of(PlantedHeads.wideBand(4032, 1500, 4, 2), PlantedHeads.blockSparse(4032, 4)));
    private static final List<CalibrationDocument> DOCUMENTS = List.of(new CalibrationDocument("wide", new int[4096]),
        new CalibrationDocument("narrow", new int[4032]));

    private static SearchOutcome verticalSlashOnly;
    private static SearchOutcome everyFamily;

    /** Scores documents whose heads' Q/K/V are given per document id: the search without a model. */
    record PlantedScorer(Map<String, List<HeadInputs>> heads) implements CalibrationScorer {
        @Override
        public List<List<List<CandidateScore>>> score(CalibrationDocument document, SearchOptions options, boolean[][] skip,
                                                      int documents) {
            List<List<CandidateScore>> byHead = new ArrayList<>();
            for (HeadInputs in : heads.get(document.id())) byHead.add(HeadSearch.evaluate(in, options, documents));
            return List.of(byHead);
        }

        @Override public String backend() { return "planted"; }
    }

    @BeforeAll
    static void search() {
        verticalSlashOnly = search(VERTICAL_SLASH_FAMILIES);
        everyFamily = search(List.of(PatternFamily.values()));
    }

    private static SearchOutcome search(List<PatternFamily> families) {
        ModelConfig model = new ModelConfig(Architecture.LLAMA, 1000, 2 * PlantedHeads.D, 688, 1, 2, 2, PlantedHeads.D,
            1e-5, 10000.0, RopeScaling.NONE, 8192, false, false, 1, 2);
        SearchOptions options = new SearchOptions(TARGET, 1024, 64, 0.1, families);
        return PatternSearch.run("planted", model, new PlantedScorer(HEADS), DOCUMENTS, options, null, null);
    }

    private static CandidateScore candidate(HeadOutcome head, PatternFamily family) {
        return head.candidates().stream().filter(c -> c.family() == family).findFirst().orElseThrow();
    }

    @Test
    void adaptiveWinsWhereTheHeadNeedsMoreOnOneDocumentAndLessOnAnother() {
        HeadOutcome head = verticalSlashOnly.head(0, 0);
        CandidateScore adaptive = head.chosen();
        assertEquals(PatternFamily.ADAPTIVE, adaptive.family(), head.candidates().toString());
        assertTrue(adaptive.cost() <= TARGET, "mean cost within the target: " + adaptive);
        // it spends more than the target on the wide document and less on the narrow one
        assertTrue(adaptive.highestCost() > TARGET && adaptive.lowestCost() < TARGET, adaptive.toString());
        for (CandidateScore fixed : head.candidates()) {
            if (fixed.family() == PatternFamily.ADAPTIVE) continue;
            assertTrue(fixed.cost() <= TARGET * 1.1, "compared at the same cost: " + fixed);
            assertTrue(fixed.error() > adaptive.error() * 1.1, "a clear win, not a tie: " + head.candidates());
        }
    }

    @Test
    void theAdaptiveCostIsThatOfTheOneHeadTheConfigGetsMeasuredOnEachDocument() {
        CandidateScore adaptive = candidate(verticalSlashOnly.head(0, 0), PatternFamily.ADAPTIVE);
        HeadPattern written = verticalSlashOnly.config().pattern(0, 0);
        assertEquals(adaptive.pattern(), written);
        double wide = density(written, HEADS.get("wide").get(0)), narrow = density(written, HEADS.get("narrow").get(0));
        assertEquals((wide + narrow) / 2, adaptive.cost(), 1e-12);
        assertEquals(Math.max(wide, narrow), adaptive.highestCost(), 0.0);
        assertEquals(Math.min(wide, narrow), adaptive.lowestCost(), 0.0);
        // and it is the largest gamma of the ladder whose mean cost stays within the target
        double gamma = ((HeadPattern.Adaptive) written).gamma();
        for (double larger : PatternFamily.ADAPTIVE_GAMMAS) {
            if (larger <= gamma) continue;
            HeadPattern next = new HeadPattern.Adaptive(larger, HeadPattern.Adaptive.DEFAULT_MIN_BUDGET,
                HeadPattern.Adaptive.DEFAULT_MAX_BUDGET);
            double mean = (density(next, HEADS.get("wide").get(0)) + density(next, HEADS.get("narrow").get(0))) / 2;
            assertTrue(mean > TARGET, "gamma " + larger + " would also fit: " + mean);
            break;
        }
    }

    private static double density(HeadPattern p, HeadInputs in) {
        return HeadPlanner.plan(p, 0, in.q(), in.k(), in.n(), in.d()).density();
    }

    @Test
    void aFixedFamilyWinsWhereItFitsTheHeadBetter() {
        // the widening band is contiguous key ranges: block-sparse covers it better than any vertical-slash form
        HeadOutcome band = everyFamily.head(0, 0);
        assertEquals(PatternFamily.BLOCK_SPARSE, band.chosen().family(), band.candidates().toString());
        assertTrue(candidate(band, PatternFamily.ADAPTIVE).error() > band.chosen().error() * 1.1, band.candidates().toString());
        // the planted block-sparse head
        HeadOutcome blocks = everyFamily.head(0, 1);
        assertEquals(PatternFamily.BLOCK_SPARSE, blocks.chosen().family(), blocks.candidates().toString());
        assertTrue(candidate(blocks, PatternFamily.ADAPTIVE).error() > 0.3, blocks.candidates().toString());
    }

    @Test
    void anExactHeadGoesToTheEarlierFamily() {
        // sinks + a local window: every family is exact, so the tie rule picks A-shape, which needs no estimate
        SearchOptions options = new SearchOptions(0.15, 1024, 64, 0.1, List.of(PatternFamily.values()));
        List<CandidateScore> scores = HeadSearch.evaluate(PlantedHeads.aShape(4096, 1), options);
        assertTrue(scores.get(PatternFamily.ADAPTIVE.ordinal()).error() < 1e-6, scores.toString());
        assertEquals(PatternFamily.A_SHAPE, HeadSearch.choose(scores, options).family(), scores.toString());
    }

    @Test
    void nearTiesFollowTheRuleOfEveryFamily() {
        SearchOptions o = new SearchOptions(0.2, 512, 64, 0.1, List.of(PatternFamily.values()));
        CandidateScore vs = new CandidateScore(PatternFamily.VERTICAL_SLASH, PatternFamily.VERTICAL_SLASH.pattern(300),
            0.19, 0.0100, 0.9);
        CandidateScore close = new CandidateScore(PatternFamily.ADAPTIVE, PatternFamily.ADAPTIVE.pattern(5),
            0.18, 0.0100 / (1 + o.tieTolerance() / 2), 0.9);
        CandidateScore clear = new CandidateScore(PatternFamily.ADAPTIVE, close.pattern(), 0.18, 0.0100 / 2, 0.9);
        // within (1 + tol) of the best: the earlier family (vertical-slash, no mass threshold) wins
        assertEquals(PatternFamily.VERTICAL_SLASH, HeadSearch.choose(List.of(vs, close), o).family());
        assertEquals(PatternFamily.ADAPTIVE, HeadSearch.choose(List.of(vs, clear), o).family());
        // exact plans tie, within the absolute slack tol/1000
        CandidateScore exactVs = new CandidateScore(PatternFamily.VERTICAL_SLASH, vs.pattern(), 0.19, 0, 1);
        CandidateScore nearlyExact = new CandidateScore(PatternFamily.ADAPTIVE, close.pattern(), 0.18,
            o.tieTolerance() / 1000 / 2, 1);
        assertEquals(PatternFamily.VERTICAL_SLASH, HeadSearch.choose(List.of(nearlyExact, exactVs), o).family());
        // an adaptive head whose mean cost is over the target does not compete while another family fits
        CandidateScore over = new CandidateScore(PatternFamily.ADAPTIVE, close.pattern(), 0.2 * 1.2, 0, 1);
        assertEquals(PatternFamily.VERTICAL_SLASH, HeadSearch.choose(List.of(vs, over), o).family());
    }

    @Test
    void theReportSaysWhatCostMeansForAdaptiveHeads() {
        String md = SearchReport.markdown(verticalSlashOnly);
        assertTrue(md.contains("| layer | dense | a_shape | vertical_slash | block_sparse | adaptive | mean cost |"), md);
        int[] counts = new int[5];  // dense, a_shape, vertical_slash, block_sparse, adaptive
        for (int h = 0; h < 2; h++) {
            HeadPattern p = verticalSlashOnly.config().pattern(0, h);
            counts[p instanceof HeadPattern.AShape ? 1 : p instanceof HeadPattern.VerticalSlash ? 2
                : p instanceof HeadPattern.BlockSparse ? 3 : p instanceof HeadPattern.Adaptive ? 4 : 0]++;
        }
        assertEquals(1, counts[4]);
        assertTrue(md.contains(String.format(Locale.ROOT, "| 0 | %d | %d | %d | %d | %d | ", counts[0], counts[1],
            counts[2], counts[3], counts[4])), "the adaptive head counted in its column: " + md);
        assertTrue(md.contains("- adaptive: ") && md.contains("averaged, stays within the target"), md);
        CandidateScore a = verticalSlashOnly.head(0, 0).chosen();
        String shown = SearchReport.describe(a.pattern()) + String.format(Locale.ROOT, " %.4f (%.3f [%.3f-%.3f])",
            a.error(), a.cost(), a.lowestCost(), a.highestCost());
        assertTrue(md.contains(shown), shown + " in " + md);
        // a search without adaptive keeps its table as before
        String without = SearchReport.markdown(search(List.of(PatternFamily.A_SHAPE)));
        assertTrue(without.contains("| layer | dense | a_shape | vertical_slash | block_sparse | mean cost |")
            && !without.contains("adaptive"), without);
    }

    @Test
    void theSearchedConfigWritesTheAdaptiveHeadAndReadsItBack() {
        String json = SearchedConfigWriter.toJson(verticalSlashOnly);
        HeadPattern.Adaptive written = assertInstanceOf(HeadPattern.Adaptive.class, verticalSlashOnly.config().pattern(0, 0));
        assertTrue(json.contains("{\"pattern\": \"adaptive\", \"gamma\": " + written.gamma() + ", \"min_budget\": "
            + written.minBudget() + ", \"max_budget\": " + written.maxBudget() + ", \"score\": "), json);
        PatternConfig back = PatternConfig.parse(json, "searched.json");
        assertEquals(verticalSlashOnly.config(), back);
        assertEquals(written, back.pattern(0, 0));
    }

    @Test
    void theAdaptiveStepsArePlannedAsTheJobPlansThem() {
        HeadInputs in = HEADS.get("wide").get(0);
        var planner = PatternFamily.ADAPTIVE.planner(in);
        long previous = 0;
        for (int b = PatternFamily.ADAPTIVE.minBudget(); b <= PatternFamily.ADAPTIVE.maxBudget(in.n()); b++) {
            long entries = planner.apply(b).computedEntries();
            assertEquals(HeadPlanner.plan(PatternFamily.ADAPTIVE.pattern(b), 0, in.q(), in.k(), in.n(), in.d())
                .computedEntries(), entries, "step " + b);
            assertTrue(entries >= previous, "plans grow with gamma");
            previous = entries;
        }
    }

    @Test
    void everyStepIsCostedAndMeasuredWhereTheMeanCanStillMeetTheTarget() {
        SearchOptions options = new SearchOptions(TARGET, 1024, 64, 0.1, List.of(PatternFamily.ADAPTIVE));
        HeadInputs wide = HEADS.get("wide").get(0);
        CandidateScore alone = HeadSearch.evaluate(wide, options, 1).get(0);
        CandidateScore ofTwo = HeadSearch.evaluate(wide, options, 2).get(0);
        AdaptiveSteps.assertFollowTheRule(alone, options, 1, "one document");
        AdaptiveSteps.assertFollowTheRule(ofTwo, options, 2, "two documents");
        // the wide band's steps cost 0.21 to 0.51: alone, those over 1.1 x 0.3 are not measured; one
        // of two documents measures every step (the other may cost less)
        assertTrue(Double.isNaN(alone.steps().get(alone.steps().size() - 1).error())
            && !Double.isNaN(alone.steps().get(1).error()), alone.steps().toString());
        assertTrue(ofTwo.steps().stream().noneMatch(s -> Double.isNaN(s.error())), ofTwo.steps().toString());
        for (int s = 0; s < alone.steps().size(); s++) {
            assertEquals(alone.steps().get(s).cost(), ofTwo.steps().get(s).cost(), 0.0, "step " + s);
        }
    }

    @Test
    void theDefaultFamiliesLeaveAdaptiveOut() {
        // its cost follows the input: a config meets the target on average over the documents, not on each prompt
        assertFalse(PatternFamily.DEFAULT.contains(PatternFamily.ADAPTIVE));
        assertEquals(PatternFamily.DEFAULT, SearchOptions.defaults(0.2, 512).families());
    }
}
