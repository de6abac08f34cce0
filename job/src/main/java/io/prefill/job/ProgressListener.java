package io.prefill.job;

import io.prefill.udf.PrefillUdf.JobCounters;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import scala.jdk.javaapi.CollectionConverters;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;

/**
 * Prints a line on the driver each time a partition of the pre-fill finishes: documents and tokens
 * done, the token rate, errors, and the time left, estimated from the share of the planned cost
 * already done. Listener events arrive asynchronously, so totals are taken from the accumulator
 * values recorded with the task's own end event, not read live.
 */
final class ProgressListener extends SparkListener {
    private final JobCounters counters;
    private final BalancedPartitions plan;
    private final PrintStream out;
    private final long startNanos = System.nanoTime();
    private final double totalCost;
    private double doneCost;
    private int finished;
    private long errors;

    ProgressListener(JobCounters counters, BalancedPartitions plan, PrintStream out) {
        this.counters = counters;
        this.plan = plan;
        this.out = out;
        double total = 0;
        for (int p = 0; p < plan.partitions(); p++) total += plan.load(p);
        this.totalCost = total;
    }

    /** A wave's stages run its partitions from the wave's first: task index i is partition first + i. */
    private final Map<Integer, Integer> firstPartitionOfStage = new HashMap<>();

    @Override
    public synchronized void onJobStart(SparkListenerJobStart start) {
        String first = start.properties() == null ? null : start.properties().getProperty(Waves.FIRST_PARTITION);
        if (first == null) return;
        for (Object stage : CollectionConverters.asJava(start.stageIds())) {
            firstPartitionOfStage.put((Integer) stage, Integer.parseInt(first));
        }
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        if (!end.taskInfo().successful()) return;
        long documents = valueAtEnd(end, counters.documents());
        if (documents < 0) return;
        finished++;
        int partition = firstPartitionOfStage.getOrDefault(end.stageId(), 0) + end.taskInfo().index();
        if (partition < plan.partitions()) doneCost += plan.load(partition);
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        long tokens = Math.max(0, valueAtEnd(end, counters.tokens()));
        // A task that hit no error does not report the error counter: keep the last total seen.
        errors = Math.max(errors, valueAtEnd(end, counters.errors()));
        String left = doneCost <= 0 || finished >= plan.partitions() ? "" : String.format(", about %s left",
                duration(seconds * (totalCost - doneCost) / doneCost));
        out.printf("[prefill] partition %d/%d done: %d documents, %,d tokens, %,.0f tokens/s, %d errors, %s%s%n",
                finished, plan.partitions(), documents, tokens, tokens / seconds, errors, duration(seconds), left);
    }

    static String duration(double seconds) {
        if (seconds < 120) return String.format("%.1f s", seconds);
        if (seconds < 7200) return String.format("%.1f min", seconds / 60);
        return String.format("%.1f h", seconds / 3600);
    }

    /** The accumulator's total as of this task's end, or -1 if the task did not touch it. */
    private static long valueAtEnd(SparkListenerTaskEnd end, LongAccumulator acc) {
        var found = end.taskInfo().accumulables().find(a -> a.id() == acc.id());
        if (found.isEmpty() || found.get().value().isEmpty()) return -1;
        return ((Number) found.get().value().get()).longValue();
    }
}
