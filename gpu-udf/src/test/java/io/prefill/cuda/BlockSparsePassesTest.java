package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The block-score passes, without a GPU: every row of every head once, each pass within its bound. */
class BlockSparsePassesTest {

    @ParameterizedTest(name = "heads={0} nqb={1} bound={2}")
    @CsvSource({"32,2048,67108864", "32,8192,268435456", "32,16384,536870912", "4,301,1", "3,1,1", "8,130,1000000000000"})
    void passesCoverEveryRowOnceWithinTheBound(int heads, int nqb, long bound) {
        List<BlockSparseGpu.Pass> passes = BlockSparseGpu.passes(heads, nqb, bound);
        int[][] covered = new int[heads][nqb];
        for (BlockSparseGpu.Pass p : passes) {
            assertTrue(p.row0() % 64 == 0 && p.row0() < p.rowEnd() && p.rowEnd() <= nqb, p.toString());
            assertTrue(p.rowEnd() == nqb || p.rowEnd() % 64 == 0, p.toString());
            long keys = 4L * p.heads() * (BlockSparseGpu.keysBefore(p.rowEnd()) - BlockSparseGpu.keysBefore(p.row0()));
            boolean oneTile = p.heads() == 1 && p.rowEnd() - p.row0() <= 64;
            assertTrue(keys <= bound || oneTile, p + " holds " + keys + " bytes of keys, bound " + bound);
            for (int h = p.h0(); h < p.h0() + p.heads(); h++)
                for (int r = p.row0(); r < p.rowEnd(); r++) covered[h][r]++;
        }
        for (int h = 0; h < heads; h++)
            for (int r = 0; r < nqb; r++) assertEquals(1, covered[h][r], "head " + h + " row " + r);
    }

    @ParameterizedTest(name = "heads={0} nqb={1}")
    @CsvSource({"32,2048,7", "32,8192,1"})
    void wholeHeadsShareAPassWhenTheyFit(int heads, int nqb, int perPass) {
        long bound = BlockSparseGpu.SCORE_BYTES_PER_HEAD_TOKEN * heads * 64L * nqb;
        assertEquals(perPass, BlockSparseGpu.passes(heads, nqb, bound).get(0).heads());
    }
}
