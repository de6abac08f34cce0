package io.prefill.cuda;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.RangePlan;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The CPU count of a pair plan's 128-key tiles (PairTileCount), on plans small enough to count by hand. */
class PairTileCountTest {
    @Test
    void overlappingRangesMergeAndColumnsInsideThemAreNotGathered() {
        // n = 256: 64-row blocks 0..3, items (0, 1) and (2, 3)
        int[][] ranges = {{0, 64}, {40, 128}, {0, 10, 130, 192}, {200, 256}};
        int[][] columns = {{}, {}, {100}, {20, 131}};
        BlockPlan p = new RangePlan(256, ranges, columns);
        PairTileCount.Tiles t = PairTileCount.count(List.of(p), 256);
        // item 0: [0, 64) and [40, 128) merge into [0, 128): one tile, no columns
        // item 1: [0, 10), [130, 192), [200, 256): 1 + 1 + 1 tiles; columns 100 and 20 are in no
        // range of the union ([0, 10) does not hold 20), 131 is inside [130, 192): 2 columns, 1 tile
        assertEquals(new PairTileCount.Tiles(5, 1, 2), t);
    }

    @Test
    void touchingRangesMergeAndLongOnesCutInto128KeyTiles() {
        // [0, 64) and [64, 128) touch: one range of the union, one tile (two if they stayed apart)
        BlockPlan touching = new RangePlan(128, new int[][] {{0, 64}, {64, 128}}, new int[][] {{}, {}});
        assertEquals(new PairTileCount.Tiles(1, 0, 1), PairTileCount.count(List.of(touching), 128));
        // dense at n = 130: item (0, 1) is [0, 128), one tile; block 2 alone is an item, [0, 130) two tiles
        assertEquals(new PairTileCount.Tiles(1 + 2, 0, 2), PairTileCount.count(List.of(RangePlan.dense(130)), 130));
    }

    @Test
    void denseTilesAreTheTriangleOf128RowBlocks() {
        assertEquals(32L * 1024 * 1025 / 2, PairTileCount.denseTiles(32, 131072));
        assertEquals(3, PairTileCount.denseTiles(1, 200));  // blocks of 128 rows: 1 + 2 tiles
    }
}
