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
        // Column searches: item 1's [0, 10) and [130, 192) for block 3 (outside [200, 256), before its
        // last row 255, and it has columns); not [200, 256), past block 2's last row 191 and inside
        // block 3's range; not item 0's tile, where block 1 lacks keys 0..39 but has no columns
        assertEquals(new PairTileCount.Tiles(5, 1, 2, 2), t);
    }

    @Test
    void touchingRangesMergeAndLongOnesCutInto128KeyTiles() {
        // [0, 64) and [64, 128) touch: one range of the union, one tile (two if they stayed apart)
        // (keys 0..63 are outside block 1's range; it searches its column for them)
        BlockPlan touching = new RangePlan(128, new int[][] {{0, 64}, {64, 128}}, new int[][] {{}, {10}});
        assertEquals(new PairTileCount.Tiles(1, 0, 1, 1), PairTileCount.count(List.of(touching), 128));
        // dense at n = 130: item (0, 1) is [0, 128), one tile; block 2 alone is an item, [0, 130) two
        // tiles; every key a block can see is in its range: no search
        assertEquals(new PairTileCount.Tiles(1 + 2, 0, 2, 0), PairTileCount.count(List.of(RangePlan.dense(130)), 130));
    }

    @Test
    void denseTilesAreTheTriangleOf128RowBlocks() {
        assertEquals(32L * 1024 * 1025 / 2, PairTileCount.denseTiles(32, 131072));
        assertEquals(3, PairTileCount.denseTiles(1, 200));  // blocks of 128 rows: 1 + 2 tiles
    }
}
