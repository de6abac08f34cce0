package io.prefill.job;

import io.prefill.udf.PrefillUdf.JobCounters;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.util.LongAccumulator;
import scala.jdk.javaapi.CollectionConverters;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * Prints a line on the driver each time a partition of the pre-fill finishes: documents and tokens
 * pre-filled (after the length policy, as in the final line), the token rate, errors, and the
 * time left ({@link ProgressEstimate}: planned cost still pending over the rate observed across
 * the running partitions). Listener events arrive asynchronously, so totals are taken from the
 * accumulator values recorded with the task's own end event, not read live.
 *
 * <p>The pre-fill stage is recognised by its tasks reporting the documents accumulator; task
 * starts are kept per stage until then (the job's other stages, such as the shuffle that moves
 * rows to their planned partitions, have other partition indices). A wave ({@link Waves}) runs
 * some of the planned partitions: its task index i is planned partition first + i.
 */
final class ProgressListener extends SparkListener {
    private final JobCounters counters;
    private final PrintStream out;
    private final DoubleSupplier clock;
    private final double start;
    private final ProgressEstimate estimate;
    /** Task id -> (stage, partition, launch seconds) of tasks started and not yet ended. */
    private final Map<Long, double[]> running = new HashMap<>();
    private final Set<Integer> prefillStages = new HashSet<>();
    /** Stage -> the first planned partition of the wave it writes. */
    private final Map<Integer, Integer> firstPartitionOfStage = new HashMap<>();
    private long errors;

    ProgressListener(JobCounters counters, BalancedPartitions plan, PrintStream out) {
        this(counters, plan, out, () -> System.currentTimeMillis() / 1000.0);
    }

    ProgressListener(JobCounters counters, BalancedPartitions plan, PrintStream out, DoubleSupplier clock) {
        this.counters = counters;
        this.out = out;
        this.clock = clock;
        this.start = clock.getAsDouble();
        double[] loads = new double[plan.partitions()];
        for (int p = 0; p < loads.length; p++) loads[p] = plan.load(p);
        this.estimate = new ProgressEstimate(loads);
    }

    @Override
    public synchronized void onJobStart(SparkListenerJobStart start) {
        String first = start.properties() == null ? null : start.properties().getProperty(Waves.FIRST_PARTITION);
        if (first == null) return;
        for (Object stage : CollectionConverters.asJava(start.stageIds())) {
            firstPartitionOfStage.put((Integer) stage, Integer.parseInt(first));
        }
    }

    @Override
    public synchronized void onTaskStart(SparkListenerTaskStart s) {
        double launched = s.taskInfo().launchTime() / 1000.0;
        int partition = partitionOf(s.stageId(), s.taskInfo().index());
        running.put(s.taskInfo().taskId(), new double[]{s.stageId(), partition, launched});
        if (prefillStages.contains(s.stageId())) estimate.started(partition, launched);
    }

    /** The planned partition a task of this stage pre-fills. */
    private int partitionOf(int stage, int taskIndex) {
        return firstPartitionOfStage.getOrDefault(stage, 0) + taskIndex;
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        running.remove(end.taskInfo().taskId());
        if (!end.taskInfo().successful()) return;
        long documents = valueAtEnd(end, counters.documents());
        if (documents < 0) return;
        if (prefillStages.add(end.stageId())) {
            // first task of this stage seen: its other tasks already running count from their launch
            for (double[] t : running.values()) if ((int) t[0] == end.stageId()) estimate.started((int) t[1], t[2]);
        }
        estimate.finished(partitionOf(end.stageId(), end.taskInfo().index()), (end.taskInfo().finishTime() - end.taskInfo().launchTime()) / 1000.0);
        double now = clock.getAsDouble();
        double seconds = Math.max(1e-9, now - start);
        long tokens = Math.max(0, valueAtEnd(end, counters.tokens()));
        // A task that hit no error does not report the error counter: keep the last total seen.
        errors = Math.max(errors, valueAtEnd(end, counters.errors()));
        out.println(line(estimate, documents, tokens, errors, seconds, now));
    }

    /** One progress line; the time left is left out until it can be estimated and once nothing is left. */
    static String line(ProgressEstimate estimate, long documents, long tokens, long errors, double seconds, double now) {
        double left = estimate.secondsLeft(now);
        String leftText = Double.isNaN(left) || estimate.finishedCount() >= estimate.partitions() ? ""
                : ", about " + duration(left) + " left";
        return String.format(Locale.ROOT, "[prefill] partition %d/%d done: %d documents, %,d tokens, %,.0f tokens/s, %d errors, %s%s",
                estimate.finishedCount(), estimate.partitions(), documents, tokens, tokens / seconds, errors,
                duration(seconds), leftText);
    }

    static String duration(double seconds) {
        if (seconds < 120) return String.format(Locale.ROOT, "%.1f s", seconds);
        if (seconds < 7200) return String.format(Locale.ROOT, "%.1f min", seconds / 60);
        return String.format(Locale.ROOT, "%.1f h", seconds / 3600);
    }

    /** The accumulator's total as of this task's end, or -1 if the task did not touch it. */
    private static long valueAtEnd(SparkListenerTaskEnd end, LongAccumulator acc) {
        var found = end.taskInfo().accumulables().find(a -> a.id() == acc.id());
        if (found.isEmpty() || found.get().value().isEmpty()) return -1;
        return ((Number) found.get().value().get()).longValue();
    }
}
