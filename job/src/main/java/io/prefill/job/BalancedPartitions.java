package io.prefill.job;

import java.util.Arrays;
import java.util.Locale;
import java.util.PriorityQueue;

/**
 * Assigns documents to partitions so that partitions carry about equal estimated cost: longest
 * processing time first (sort by cost, give each document to the lightest partition). A document
 * costing more than an even share ends up alone in its partition, and the rest balance around it.
 * LPT is within 4/3 of the best possible makespan, and near-perfect when small documents abound.
 */
public final class BalancedPartitions {
    private final int[] partitionOf;
    private final double[] load;

    private BalancedPartitions(int[] partitionOf, double[] load) {
        this.partitionOf = partitionOf;
        this.load = load;
    }

    /** @param costs estimated cost of each document, indexed by document */
    public static BalancedPartitions plan(double[] costs, int partitions) {
        if (partitions < 1) throw new IllegalArgumentException("need at least one partition, got " + partitions);
        int p = Math.max(1, Math.min(partitions, costs.length));
        Integer[] order = new Integer[costs.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> costs[a] != costs[b] ? Double.compare(costs[b], costs[a]) : Integer.compare(a, b));
        double[] load = new double[p];
        PriorityQueue<Integer> lightest = new PriorityQueue<>(
                (a, b) -> load[a] != load[b] ? Double.compare(load[a], load[b]) : Integer.compare(a, b));
        for (int i = 0; i < p; i++) lightest.add(i);
        int[] partitionOf = new int[costs.length];
        for (int doc : order) {
            int target = lightest.poll();
            partitionOf[doc] = target;
            load[target] += costs[doc];
            lightest.add(target);
        }
        return new BalancedPartitions(partitionOf, load);
    }

    public int partitions() { return load.length; }

    public int partitionOf(int document) { return partitionOf[document]; }

    public double load(int partition) { return load[partition]; }

    /** Heaviest partition over the lightest one with work: 1.0 is perfect balance (1.0 when none has work). */
    public double imbalance() {
        double max = Arrays.stream(load).max().orElse(0);
        double min = Arrays.stream(load).filter(l -> l > 0).min().orElse(0);
        return min <= 0 ? 1.0 : max / min;
    }

    /** Partitions with no estimated cost: every document in them is an error row before any pre-fill. */
    public int withoutWork() {
        return (int) Arrays.stream(load).filter(l -> l <= 0).count();
    }

    /** For the plan line: "heaviest/lightest 1.02", and how many partitions have nothing to pre-fill. */
    public String balance() {
        int idle = withoutWork();
        String ratio = String.format(Locale.ROOT, "heaviest/lightest %.2f", imbalance());
        if (idle == 0) return ratio;
        if (idle == load.length) return "no document to pre-fill";
        return ratio + "; " + idle + " with only documents that fail before the pre-fill";
    }
}
