package io.prefill.job;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The pre-fill's time left, from the cost plan and what the running partitions show so far.
 *
 * <p>The rate is measured, not guessed: finished partitions give the planned cost one task
 * completes per second ({@code rate} = their planned cost / their busy seconds). A running
 * partition is then credited with {@code rate x its elapsed time} of its planned cost (never more
 * than all of it), so partitions that run side by side all count as progressing, and the cost
 * still pending is the plan's total less what finished and what the running ones have done. The
 * time left lays that pending cost out on as many task slots as ran at once: each running
 * partition finishes its remainder at the rate, and the partitions not yet started take the next
 * free slot in turn. With many partitions left this is pending cost / (rate x slots); near the end
 * it is the longest remaining partition, not an average.
 */
final class ProgressEstimate {
    private final double[] planned;
    private final Map<Integer, Double> runningSince = new HashMap<>();
    private final Set<Integer> finished = new HashSet<>();
    private double finishedCost;
    private double finishedBusySeconds;
    private int slots = 1;

    /** @param plannedCost the plan's estimated cost of each partition */
    ProgressEstimate(double[] plannedCost) {
        this.planned = plannedCost.clone();
    }

    /** A partition's task started at {@code at} seconds (a retry or speculative copy restarts the clock). */
    void started(int partition, double at) {
        if (partition < 0 || partition >= planned.length || finished.contains(partition)) return;
        runningSince.put(partition, at);
        slots = Math.max(slots, runningSince.size());
    }

    /** A partition's task succeeded after {@code busySeconds} of work; only its first success counts. */
    void finished(int partition, double busySeconds) {
        if (partition < 0 || partition >= planned.length || !finished.add(partition)) return;
        runningSince.remove(partition);
        finishedCost += planned[partition];
        finishedBusySeconds += Math.max(0, busySeconds);
    }

    int finishedCount() { return finished.size(); }

    int partitions() { return planned.length; }

    /** Planned cost one task completes per second, from the finished partitions; NaN before any finished. */
    double rate() {
        return finishedCost > 0 && finishedBusySeconds > 0 ? finishedCost / finishedBusySeconds : Double.NaN;
    }

    /** The planned cost not yet done at time {@code now}: unstarted partitions and the running ones' remainders. */
    double pendingCost(double now) {
        double rate = rate();
        double pending = 0;
        for (int p = 0; p < planned.length; p++) {
            if (finished.contains(p)) continue;
            pending += remaining(p, now, rate);
        }
        return pending;
    }

    /** Seconds until the last partition finishes, as of {@code now}; NaN until a partition has finished. */
    double secondsLeft(double now) {
        double rate = rate();
        if (Double.isNaN(rate)) return Double.NaN;
        if (finished.size() == planned.length) return 0;
        PriorityQueue<Double> free = new PriorityQueue<>();
        List<Integer> waiting = new ArrayList<>();
        for (int p = 0; p < planned.length; p++) {
            if (finished.contains(p)) continue;
            if (runningSince.containsKey(p)) free.add(remaining(p, now, rate) / rate);
            else waiting.add(p);
        }
        while (free.size() < slots) free.add(0.0);
        double end = 0;
        for (int p : waiting) {  // Spark hands out partitions in index order
            double start = free.poll();
            double done = start + planned[p] / rate;
            free.add(done);
        }
        for (double t : free) end = Math.max(end, t);
        return end;
    }

    private double remaining(int p, double now, double rate) {
        Double since = runningSince.get(p);
        if (since == null || Double.isNaN(rate)) return planned[p];
        return Math.max(0, planned[p] - rate * Math.max(0, now - since));
    }
}
