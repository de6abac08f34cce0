package io.prefill.job.report;

import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PatternMapTest {
    static PatternConfig mixed() {
        return new PatternConfig("tiny", 2, 3, 1024, List.of(
                List.of(new HeadPattern.VerticalSlash(64, 256), new HeadPattern.AShape(64, 512), new HeadPattern.Dense()),
                List.of(new HeadPattern.BlockSparse(8), new HeadPattern.Dense(), new HeadPattern.VerticalSlash(1000, 6096))));
    }

    @Test
    void oneCellPerLayerAndHeadInLayerMajorOrder() {
        List<PatternCell> cells = PatternMap.cells(mixed());
        assertEquals(6, cells.size());
        assertEquals(new PatternCell(0, 0, PatternKind.VERTICAL_SLASH, "vertical 64, slash 256", "64/256"), cells.get(0));
        assertEquals(new PatternCell(0, 1, PatternKind.A_SHAPE, "init 64 + local 512", "64+512"), cells.get(1));
        assertEquals(new PatternCell(0, 2, PatternKind.DENSE, "all keys", ""), cells.get(2));
        assertEquals(new PatternCell(1, 0, PatternKind.BLOCK_SPARSE, "top 8 blocks", "8 blk"), cells.get(3));
        assertEquals("1000/6096", cells.get(5).shortBudget());
    }

    @Test
    void kindsUseTheConfigFileNames() {
        assertEquals("vertical_slash", PatternKind.of(new HeadPattern.VerticalSlash(1, 1)).configName());
        assertEquals("a_shape", PatternKind.of(new HeadPattern.AShape(0, 1)).configName());
        assertEquals("block_sparse", PatternKind.of(new HeadPattern.BlockSparse(1)).configName());
        assertEquals("dense", PatternKind.of(new HeadPattern.Dense()).configName());
    }
}
