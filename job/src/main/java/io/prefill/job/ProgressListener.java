package io.prefill.job;

import io.prefill.udf.PrefillUdf.JobCounters;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

import java.io.PrintStream;

/**
 * Prints a line on the driver each time a partition of the pre-fill finishes: documents and tokens
 * done so far, the token rate, errors. Spark merges a task's accumulator updates before it posts
 * the task-end event, so the counters are current here.
 */
final class ProgressListener extends SparkListener {
    private final JobCounters counters;
    private final int partitions;
    private final PrintStream out;
    private final long startNanos = System.nanoTime();
    private int finished;

    ProgressListener(JobCounters counters, int partitions, PrintStream out) {
        this.counters = counters;
        this.partitions = partitions;
        this.out = out;
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        if (!end.taskInfo().successful()) return;
        boolean ours = end.taskInfo().accumulables().exists(a -> a.id() == counters.documents().id());
        if (!ours) return;
        finished++;
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        long tokens = counters.tokens().value();
        out.printf("[prefill] partition %d/%d done: %d documents, %,d tokens, %,.0f tokens/s, %d errors, %.1f s%n",
                finished, partitions, counters.documents().value(), tokens, tokens / seconds,
                counters.errors().value(), seconds);
    }
}
