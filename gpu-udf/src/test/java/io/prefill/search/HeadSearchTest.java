package io.prefill.search;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeadSearchTest {
    private static final int N = 4096;
    // 15% of dense at 4096 tokens leaves vertical-slash room beyond its forced 30 columns and
    // 100 diagonals (about 190 of the 307 entries per row).
    private static final SearchOptions OPTIONS = SearchOptions.defaults(0.15, 1024);

    @Test
    void recoversPlantedAShapeHead() {
        assertRecovered(PlantedHeads.aShape(N, 1), "a_shape");
    }

    @Test
    void recoversPlantedVerticalSlashHead() {
        assertRecovered(PlantedHeads.verticalSlash(N, new int[] {300, 777, 1234, 1900, 2500, 3100, 3600}, 1500, 2),
            "vertical_slash");
    }

    @Test
    void recoversPlantedBlockSparseHead() {
        assertRecovered(PlantedHeads.blockSparse(N, 3), "block_sparse");
    }

    @Test
    void lastBlockScoringMeasuresOnlyTheRowsThatEndThePrompt() {
        int n = 192, d = 16;
        java.util.Random random = new java.util.Random(7);
        float[] q = new float[n * d], k = new float[n * d], v = new float[n * d];
        for (float[] a : List.of(q, k, v)) for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        HeadInputs head = new HeadInputs(q, k, v, n, d);
        // the last query block sees every key block; the middle one misses key block 0
        io.prefill.sparse.RangePlan plan = io.prefill.sparse.RangePlan.fromKeyBlocks(n, new int[][] {{0}, {1}, {0, 1, 2}});
        double all = new DenseReference(head, 16, SearchOptions.ScoredRows.ALL).relativeError(plan);
        double last = new DenseReference(head, 16, SearchOptions.ScoredRows.LAST_BLOCK).relativeError(plan);
        assertTrue(all > 0.05, "the middle block's error counts over every row: " + all);
        assertEquals(0.0, last, 1e-6);
        // and a plan that is wrong only in the last block is wrong there
        io.prefill.sparse.RangePlan lastWrong = io.prefill.sparse.RangePlan.fromKeyBlocks(n, new int[][] {{0}, {0, 1}, {2}});
        assertTrue(new DenseReference(head, 16, SearchOptions.ScoredRows.LAST_BLOCK).relativeError(lastWrong) > 0.05);
        assertEquals(0.0, new DenseReference(head, 16, SearchOptions.ScoredRows.ALL).relativeError(
            io.prefill.sparse.RangePlan.dense(n)), 1e-6);
    }

    @Test
    void aNearTieGoesToTheEarlierFamilyButSmallErrorsAreStillCompared() {
        SearchOptions o = SearchOptions.defaults(0.1, 512);
        CandidateScore bs = new CandidateScore(PatternFamily.BLOCK_SPARSE, PatternFamily.BLOCK_SPARSE.pattern(26), 0.097, 0.0090, 0.9);
        CandidateScore vs = new CandidateScore(PatternFamily.VERTICAL_SLASH, PatternFamily.VERTICAL_SLASH.pattern(818), 0.098, 0.0005, 0.6);
        // an 18 times smaller error wins, however small both are
        assertEquals(PatternFamily.VERTICAL_SLASH, HeadSearch.choose(List.of(bs, vs), o).family());
        // within the relative tolerance the earlier family (block-sparse) wins the tie
        CandidateScore closeBs = new CandidateScore(PatternFamily.BLOCK_SPARSE, bs.pattern(), 0.097,
                0.0005 * (1 + o.tieTolerance() / 2), 0.9);
        assertEquals(PatternFamily.BLOCK_SPARSE, HeadSearch.choose(List.of(closeBs, vs), o).family());
        // exact plans tie
        CandidateScore exactVs = new CandidateScore(PatternFamily.VERTICAL_SLASH, vs.pattern(), 0.098, 0, 1);
        CandidateScore exactBs = new CandidateScore(PatternFamily.BLOCK_SPARSE, bs.pattern(), 0.097, 0, 1);
        assertEquals(PatternFamily.BLOCK_SPARSE, HeadSearch.choose(List.of(exactVs, exactBs), o).family());
    }

    /** On the device, errors below its bf16 rounding are noise: an exact A-shape plan measured 1e-3 ties a 1e-4 block-sparse one. */
    @Test
    void errorsBelowTheScorersFloorTie() {
        SearchOptions o = SearchOptions.defaults(0.1, 512);
        CandidateScore aShape = new CandidateScore(PatternFamily.A_SHAPE, PatternFamily.A_SHAPE.pattern(300), 0.09, 1.05e-3, 1);
        CandidateScore bs = new CandidateScore(PatternFamily.BLOCK_SPARSE, PatternFamily.BLOCK_SPARSE.pattern(26), 0.097, 9.6e-5, 1);
        assertEquals(PatternFamily.BLOCK_SPARSE, HeadSearch.choose(List.of(aShape, bs), o).family(), "cpu: compared");
        assertEquals(PatternFamily.A_SHAPE, HeadSearch.choose(List.of(aShape, bs), o, 2e-3).family(), "device: tied");
        CandidateScore worse = new CandidateScore(PatternFamily.A_SHAPE, aShape.pattern(), 0.09, 0.0090, 0.9);
        assertEquals(PatternFamily.BLOCK_SPARSE, HeadSearch.choose(List.of(worse, bs), o, 2e-3).family(),
                "an error well above the floor still loses");
    }

    private static void assertRecovered(HeadInputs head, String expected) {
        List<CandidateScore> scores = HeadSearch.evaluate(head, OPTIONS);
        CandidateScore chosen = HeadSearch.choose(scores, OPTIONS);
        String table = scores.toString();
        // For the record in target/surefire-reports: how clear the win was.
        System.out.println(expected + " head: chose " + chosen + "\n  candidates " + table);
        assertEquals(expected, chosen.family().patternName(), table);
        assertTrue(chosen.error() < 0.1, "planted pattern should be nearly exact: " + table);
        assertTrue(chosen.recall() > 0.9, table);
        assertTrue(chosen.cost() <= OPTIONS.targetCost(), table);
    }
}
