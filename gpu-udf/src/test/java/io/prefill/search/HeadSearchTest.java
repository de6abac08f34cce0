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
