package io.prefill.cuda;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.VerticalSlashIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * The work PAIR_PLAN_WS does on AttentionBenchmark's plans, counted on the CPU (no GPU needed): per
 * (head, pair of 64-row blocks) the union of the two blocks' keys as the pair plan holds it (the
 * blocks' ranges merged where they overlap or touch, the columns no merged range holds), cut into
 * 128-key tiles as the kernel's TileCursor cuts them. Against the kernel's time this gives its cost
 * per tile, and against the 64-row plans' entries the share of the tiles' entries no row needs.
 * Not a test: its figures go in BENCHMARKS.md ("Sparse attention kernels").
 * <pre>
 *   PairTileCount [--sizes 131072,524288]
 * </pre>
 */
public final class PairTileCount {
    static final int TILE = 128;

    private PairTileCount() { }

    /**
     * Tiles of a pair plan over `plans` (one per head): all of them, the gathered ones, the work
     * items, and the range tiles with a key that one of the two blocks must look up in its column
     * list (outside that block's ranges, at or before its last row, the block having columns:
     * attention_ws.cuh's producer binary-searches them for it, a chain of dependent loads, where
     * every other key of a range tile is one comparison).
     */
    public record Tiles(long tiles, long gathered, long items, long searching) {
        Tiles plus(Tiles o) {
            return new Tiles(tiles + o.tiles, gathered + o.gathered, items + o.items, searching + o.searching);
        }
    }

    public static void main(String[] args) {
        List<Integer> sizes = List.of(131072, 524288);
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--sizes")) sizes = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
            else throw new IllegalArgumentException("unknown argument " + args[i]);
        }
        System.out.println("n\tplan\titems\ttiles\tgathered tiles\tplan entries\ttile entries / plan entries\tdense tiles"
                + "\trange tiles with a column search");
        for (int n : sizes) {
            row(n, "VS (1000, 6096), AttentionBenchmark's realistic plan", realisticVs(n));
            row(n, "A-shape (128, 4096)", aShape(n));
            // MInference's Llama-3-8B config's other common budgets: short items, or gathered ones
            for (int[] b : new int[][] {{30, 800}, {100, 800}, {3500, 100}})
                row(n, "VS (" + b[0] + ", " + b[1] + "), realistic plan", realisticVs(n, b[0], b[1]));
        }
    }

    /** AttentionBenchmark's realistic vertical-slash plans of the largest budget, one per head, built on the CPU. */
    static List<BlockPlan> realisticVs(int n) { return realisticVs(n, 1000, 6096); }

    /** AttentionBenchmark's realistic vertical-slash plans with these budgets, one per head. */
    static List<BlockPlan> realisticVs(int n, int vertical, int slash) {
        int[][] cols = AttentionBenchmark.realisticColumns(n, vertical);
        return plans(n, h -> cols[h], AttentionBenchmark.realisticOffsets(n, slash));
    }

    /** AttentionBenchmark's A-shape (128 sinks, 4096 local keys) plans, one per head. */
    static List<BlockPlan> aShape(int n) {
        int[] sinks = IntStream.range(0, Math.min(128, n)).toArray(), local = IntStream.range(0, Math.min(4096, n)).toArray();
        return plans(n, h -> sinks, local);
    }

    private static List<BlockPlan> plans(int n, java.util.function.IntFunction<int[]> columns, int[] offsets) {
        List<BlockPlan> plans = new ArrayList<>();
        for (int h = 0; h < AttentionBenchmark.HEADS; h++)
            plans.add(RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(columns.apply(h), offsets)));
        return plans;
    }

    private static void row(int n, String what, List<BlockPlan> plans) {
        long entries = plans.stream().mapToLong(BlockPlan::computedEntries).sum();
        Tiles t = count(plans, n);
        System.out.printf(Locale.ROOT, "%d\t%s\t%d\t%d\t%d\t%d\t%.4f\t%d\t%d%n", n, what, t.items(), t.tiles(), t.gathered(),
                entries, t.tiles() * (double) (TILE * TILE) / entries, denseTiles(AttentionBenchmark.HEADS, n), t.searching());
    }

    /** The pair plan's tiles over every head's 64-row plan. */
    public static Tiles count(List<BlockPlan> plans, int n) {
        Tiles all = new Tiles(0, 0, 0, 0);
        int blocks = BlockPlan.blocks(n);
        for (BlockPlan p : plans)
            for (int a = 0; a < blocks; a += 2) all = all.plus(pair(p, a, Math.min(a + 2, blocks)));
        return all;
    }

    /** One item: 64-row blocks [first, end) of one head's plan. */
    public static Tiles pair(BlockPlan p, int first, int end) {
        List<int[]> ranges = new ArrayList<>();
        TreeSet<Integer> columns = new TreeSet<>();
        for (int b = first; b < end; b++) {
            int[] r = p.ranges(b);
            for (int i = 0; i < r.length; i += 2) ranges.add(new int[] {r[i], r[i + 1]});
            for (int c : p.columns(b)) columns.add(c);
        }
        ranges.sort((x, y) -> Integer.compare(x[0], y[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] r : ranges) {
            int[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
            else merged.add(r.clone());
        }
        long tiles = 0, searching = 0;
        for (int[] r : merged)
            for (int s = r[0]; s < r[1]; s += TILE, tiles++) {
                int e = Math.min(r[1], s + TILE);
                for (int b = first; b < end; b++) {
                    if (p.columns(b).length > 0
                            && searches(p.ranges(b), s, Math.min(e, Math.min(b * BlockPlan.BLOCK + BlockPlan.BLOCK, p.seqLen())))) {
                        searching++;
                        break;
                    }
                }
            }
        long leftover = columns.stream().filter(c -> merged.stream().noneMatch(r -> c >= r[0] && c < r[1])).count();
        long gathered = (leftover + TILE - 1) / TILE;
        return new Tiles(tiles + gathered, gathered, 1, searching);
    }

    /** Whether some key of [s, e) lies outside the block's ranges (disjoint, as a BlockPlan's are). */
    static boolean searches(int[] ranges, int s, int e) {
        long covered = 0;
        for (int i = 0; i < ranges.length; i += 2) covered += Math.max(0, Math.min(e, ranges[i + 1]) - Math.max(s, ranges[i]));
        return covered < e - s;
    }

    /** The dense kernel's 128-key tiles: 128-row block q of a head walks q + 1 of them. */
    static long denseTiles(int heads, int n) {
        long blocks = (n + TILE - 1) / TILE;
        return heads * blocks * (blocks + 1) / 2;
    }
}
