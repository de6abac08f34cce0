package io.prefill.job;

import io.prefill.udf.PrefillUdf.JobCounters;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.io.PrintStream;

/**
 * Prints a line on the driver each time a partition of the pre-fill finishes: documents and tokens
 * done so far, the token rate, errors. Listener events arrive asynchronously, so the totals are
 * taken from the accumulator values recorded with the task's own end event, not read live.
 */
final class ProgressListener extends SparkListener {
    private final JobCounters counters;
    private final int partitions;
    private final PrintStream out;
    private final long startNanos = System.nanoTime();
    private int finished;
    private long errors;

    ProgressListener(JobCounters counters, int partitions, PrintStream out) {
        this.counters = counters;
        this.partitions = partitions;
        this.out = out;
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        if (!end.taskInfo().successful()) return;
        long documents = valueAtEnd(end, counters.documents());
        if (documents < 0) return;
        finished++;
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        long tokens = Math.max(0, valueAtEnd(end, counters.tokens()));
        // A task that hit no error does not report the error counter: keep the last total seen.
        errors = Math.max(errors, valueAtEnd(end, counters.errors()));
        out.printf("[prefill] partition %d/%d done: %d documents, %,d tokens, %,.0f tokens/s, %d errors, %.1f s%n",
                finished, partitions, documents, tokens, tokens / seconds, errors, seconds);
    }

    /** The accumulator's total as of this task's end, or -1 if the task did not touch it. */
    private static long valueAtEnd(SparkListenerTaskEnd end, org.apache.spark.util.LongAccumulator acc) {
        var found = end.taskInfo().accumulables().find(a -> a.id() == acc.id());
        if (found.isEmpty() || found.get().value().isEmpty()) return -1;
        return ((Number) found.get().value().get()).longValue();
    }
}
