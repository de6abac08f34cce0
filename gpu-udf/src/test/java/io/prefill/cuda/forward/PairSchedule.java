package io.prefill.cuda.forward;

import io.prefill.cuda.AttentionKernels;
import io.prefill.cuda.PairTileCount;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.VerticalSlashEstimator;
import io.prefill.sparse.VerticalSlashIndex;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.PriorityQueue;

/**
 * How evenly the persistent pair kernel (PAIR_PLAN_WS) spreads a layer's work over its CTAs, on the
 * CPU: per layer of a pattern config, every vertical-slash head's plan on PrefillBenchmark's
 * trained-model index shape, each work item's 128-key tiles counted as the kernel walks them
 * ({@link PairTileCount}), and an item's cost modelled as a fixed cost per item plus one per tile
 * (BENCHMARKS.md, "Sparse attention kernels": 2.3 us and 2.39 us on an H200, solved from two
 * plans' kernel times). Three schedules of the same items over the same CTAs:
 * <ul>
 *   <li>static: CTA b takes items b, b + grid, ... in KV_GROUP_MAJOR order, as the kernel does
 *       (attention_ws.cuh, PERSIST; grid = {@link AttentionKernels#persistentGrid});</li>
 *   <li>dynamic: each CTA takes the next item in that order when it finishes one (what a work
 *       counter in global memory would do);</li>
 *   <li>ideal: the total spread evenly, the bound no schedule beats.</li>
 * </ul>
 * The layer takes its slowest CTA's time, so static / ideal is what the fixed assignment costs and
 * static / dynamic what a work counter would win back. Not a test: its figures go in BENCHMARKS.md.
 * <pre>
 *   PairSchedule --patterns FILE [--sizes 131072] [--sms 132] [--item-us 2.3] [--tile-us 2.39]
 * </pre>
 */
public final class PairSchedule {
    private PairSchedule() { }

    public static void main(String[] args) throws IOException {
        String patternsFile = null;
        int[] sizes = {131072};
        int sms = 132;
        double itemUs = 2.3, tileUs = 2.39;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--patterns" -> patternsFile = args[++i];
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--sms" -> sms = Integer.parseInt(args[++i]);
                case "--item-us" -> itemUs = Double.parseDouble(args[++i]);
                case "--tile-us" -> tileUs = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (patternsFile == null) throw new IllegalArgumentException("--patterns FILE is required");
        PatternConfig patterns = PatternConfig.read(Path.of(patternsFile));
        int groups = patterns.numHeads() / PrefillBenchmark.LLAMA3_8B.numKvHeads();
        System.out.println("n\tlayer\titems\ttiles\tstatic ms\tdynamic ms\tideal ms\tstatic / ideal\tstatic / dynamic");
        int[] edges = {4, 8, 16, 32, 64, 128, 256};  // tiles-per-item buckets: < 4, 4-7, ..., >= 256
        for (int n : sizes) {
            double[] sum = new double[3];
            long[] buckets = new long[edges.length + 1];
            for (int l = 0; l < patterns.numLayers(); l++) {
                double[] cost = itemCosts(patterns, l, n, groups, itemUs, tileUs);
                for (double c : cost) {
                    long t = Math.round((c - itemUs) / tileUs);
                    int b = 0;
                    while (b < edges.length && t >= edges[b]) b++;
                    buckets[b]++;
                }
                int grid = AttentionKernels.persistentGrid(cost.length, sms, groups);
                double[] ms = {staticMakespan(cost, grid) / 1e3, dynamicMakespan(cost, grid) / 1e3,
                        Arrays.stream(cost).sum() / grid / 1e3};
                long tiles = Math.round((Arrays.stream(cost).sum() - cost.length * itemUs) / tileUs);
                System.out.printf(Locale.ROOT, "%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.3f\t%.3f%n", n, l, cost.length, tiles, ms[0],
                        ms[1], ms[2], ms[0] / ms[2], ms[0] / ms[1]);
                for (int i = 0; i < 3; i++) sum[i] += ms[i];
            }
            System.out.printf(Locale.ROOT, "%d\tall\t\t\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f%n", n, sum[0], sum[1], sum[2], sum[0] / sum[2],
                    sum[0] / sum[1]);
            long items = Arrays.stream(buckets).sum();
            StringBuilder h = new StringBuilder(n + "\ttiles per item, share of all items:");
            for (int b = 0; b < buckets.length; b++)
                h.append(String.format(Locale.ROOT, " %s %.1f%%", b == 0 ? "<" + edges[0] : b == edges.length ? ">=" + edges[b - 1]
                        : edges[b - 1] + "-" + (edges[b] - 1), 100.0 * buckets[b] / items));
            System.out.println(h);
        }
    }

    /**
     * The modelled cost (us) of every work item of layer l in the kernel's KV_GROUP_MAJOR order:
     * item i is head (rest / pairs) * groups + i % groups, pair pairs - 1 - rest % pairs, with rest =
     * i / groups (attention_ws.cuh's ws_item_head_block).
     */
    static double[] itemCosts(PatternConfig patterns, int layer, int n, int groups, double itemUs, double tileUs) {
        int heads = patterns.numHeads(), blocks = BlockPlan.blocks(n), pairs = (blocks + 1) / 2;
        long[][] tiles = new long[heads][];
        for (int h = 0; h < heads; h++) {
            BlockPlan p = plan(patterns.pattern(layer, h), layer, h, n);
            tiles[h] = new long[pairs];
            for (int q = 0; q < pairs; q++) tiles[h][q] = PairTileCount.pair(p, 2 * q, Math.min(2 * q + 2, blocks)).tiles();
        }
        double[] cost = new double[heads * pairs];
        for (int i = 0; i < cost.length; i++) {
            int rest = i / groups, h = (rest / pairs) * groups + i % groups, q = pairs - 1 - rest % pairs;
            cost[i] = itemUs + tileUs * tiles[h][q];
        }
        return cost;
    }

    /** A head's plan: vertical-slash heads on the trained-model index shape, others dense. */
    static BlockPlan plan(HeadPattern pattern, int layer, int head, int n) {
        if (pattern instanceof HeadPattern.VerticalSlash vs) {
            int v = VerticalSlashEstimator.verticalBudget(vs.verticalSize(), n), s = VerticalSlashEstimator.slashBudget(vs.slashSize(), n);
            int[][] lists = PrefillBenchmark.trainedModelShape(layer, head, n, v, s);
            return RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(lists[0], lists[1]));
        }
        return RangePlan.dense(n);
    }

    /** The slowest CTA's total when CTA b takes items b, b + grid, ... */
    static double staticMakespan(double[] cost, int grid) {
        double[] t = new double[grid];
        for (int i = 0; i < cost.length; i++) t[i % grid] += cost[i];
        return Arrays.stream(t).max().orElse(0);
    }

    /** The last finish when each item in order goes to the CTA that is free first. */
    static double dynamicMakespan(double[] cost, int grid) {
        PriorityQueue<double[]> free = new PriorityQueue<>((a, b) -> Double.compare(a[0], b[0]));
        for (int b = 0; b < grid; b++) free.add(new double[] {0});
        double end = 0;
        for (double c : cost) {
            double[] cta = free.poll();
            cta[0] += c;
            end = Math.max(end, cta[0]);
            free.add(cta);
        }
        return end;
    }
}
