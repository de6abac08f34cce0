package io.prefill.cuda;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a stream's device sits idle, operation by operation: a CUDA event recorded before and
 * after every kernel launch and copy on the stream ({@link CudaStream#trace}), and the host's time
 * in {@link CudaStream#synchronize}. An operation's busy time is the span between its two events;
 * the idle time before it is the span from the previous operation's end to its start, which is
 * where the device waited for the host to ask for more. Where a profiler's timeline cannot be had,
 * this says which host step holds the device up ({@code -Dprefill.cuda.traceGaps=true}: the
 * pre-fill prints it). Costs two events per operation; the host wait for them happens in
 * {@link #drain()}.
 */
public final class LaunchTrace implements AutoCloseable {
    private final EventPool events = new EventPool();  // before and after operation i: 2i, 2i + 1
    private final List<String> names = new ArrayList<>();
    private final List<Boolean> afterSync = new ArrayList<>();
    private boolean synced;
    private long syncs, syncNanos;

    void before(String name, CudaStream stream) {
        events.record(stream);
        names.add(name);
        afterSync.add(synced);
        synced = false;
    }

    void after(CudaStream stream) { events.record(stream); }

    void synchronised(long nanos) {
        syncs++;
        syncNanos += nanos;
        synced = true;
    }

    /** The operations traced since the last drain, summed by name; waits for the last one, then starts over. */
    public Summary drain() {
        int ops = names.size();
        double[] busy = new double[ops], idle = new double[ops];
        if (ops > 0) {
            events.synchronize(2 * ops - 1);
            for (int i = 0; i < ops; i++) {
                busy[i] = events.millis(2 * i, 2 * i + 1);
                if (i > 0) idle[i] = events.millis(2 * i - 1, 2 * i);
            }
        }
        Summary s = summarize(names, afterSync, busy, idle, syncs, syncNanos / 1e6);
        events.reset();
        names.clear();
        afterSync.clear();
        synced = false;
        syncs = 0;
        syncNanos = 0;
        return s;
    }

    /** One name's operations: how many, their busy time, the idle time before them (of it, right after a host wait). */
    public record Entry(String name, int count, double busyMs, double idleBeforeMs, double idleAfterSyncMs) { }

    /**
     * A trace summed by name (entries by idle time before them, most first), and the host's
     * waits for the stream ({@link CudaStream#synchronize}: how many, and how long they took).
     */
    public record Summary(List<Entry> entries, int operations, double busyMs, double idleMs, double idleAfterSyncMs,
                          long hostWaits, double hostWaitMs) {
        /** The totals and the `top` names with the most idle time before them. */
        public String table(int top) {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                    "%d operations: device busy %.1f ms, idle between them %.1f ms (%.1f ms of it right after a host wait); "
                            + "the host waited for the stream %d times, %.1f ms in all%n",
                    operations, busyMs, idleMs, idleAfterSyncMs, hostWaits, hostWaitMs));
            b.append(String.format(Locale.ROOT, "  %-44s %7s %12s %14s %18s%n", "operation", "count", "busy ms",
                    "idle before ms", "after a host wait"));
            entries.stream().limit(top).forEach(e -> b.append(String.format(Locale.ROOT, "  %-44s %7d %12.2f %14.2f %18.2f%n",
                    e.name(), e.count(), e.busyMs(), e.idleBeforeMs(), e.idleAfterSyncMs())));
            return b.toString();
        }
    }

    /**
     * Sums operations i (names[i], afterSync[i]: a host wait came right before it; busy[i], and
     * idle[i] before it) by name.
     */
    static Summary summarize(List<String> names, List<Boolean> afterSync, double[] busy, double[] idle, long hostWaits,
                             double hostWaitMs) {
        if (busy.length != names.size() || idle.length != names.size() || afterSync.size() != names.size())
            throw new IllegalArgumentException(names.size() + " names, " + afterSync.size() + " host-wait flags, "
                    + busy.length + " busy and " + idle.length + " idle times");
        Map<String, double[]> by = new LinkedHashMap<>();  // count, busy, idle, idle after a host wait
        double busyAll = 0, idleAll = 0, idleSync = 0;
        for (int i = 0; i < names.size(); i++) {
            double[] a = by.computeIfAbsent(names.get(i), k -> new double[4]);
            double afterWait = afterSync.get(i) ? idle[i] : 0;
            a[0]++;
            a[1] += busy[i];
            a[2] += idle[i];
            a[3] += afterWait;
            busyAll += busy[i];
            idleAll += idle[i];
            idleSync += afterWait;
        }
        List<Entry> entries = new ArrayList<>();
        by.forEach((name, a) -> entries.add(new Entry(name, (int) a[0], a[1], a[2], a[3])));
        entries.sort(Comparator.comparingDouble(Entry::idleBeforeMs).reversed());
        return new Summary(List.copyOf(entries), names.size(), busyAll, idleAll, idleSync, hostWaits, hostWaitMs);
    }

    @Override
    public void close() { events.close(); }
}
