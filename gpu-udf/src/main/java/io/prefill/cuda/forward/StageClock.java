package io.prefill.cuda.forward;

import io.prefill.cuda.CudaStream;
import io.prefill.cuda.EventPool;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Per-stage device time of a pre-fill, from events recorded on the stream between stages (no
 * synchronisation until {@link #totals()}): {@code mark(stage)} charges the time since the
 * previous mark to `stage`. Disabled, every call is free.
 */
final class StageClock implements AutoCloseable {
    enum Stage { GEMM, ATTENTION, ESTIMATE, CERTIFICATE, OTHER }

    private final CudaStream stream;
    private final boolean enabled;
    private final EventPool events = new EventPool();
    private final List<Stage> stages = new ArrayList<>();

    StageClock(CudaStream stream, boolean enabled) {
        this.stream = stream;
        this.enabled = enabled;
    }

    void start() {
        events.reset();
        stages.clear();
        if (enabled) record(null);
    }

    void mark(Stage stage) {
        if (enabled) record(stage);
    }

    private void record(Stage stage) {
        events.record(stream);
        stages.add(stage);
    }

    /** Milliseconds per stage since {@link #start()}; waits for the stream. Empty when disabled. */
    Map<Stage, Double> totals() {
        Map<Stage, Double> out = new EnumMap<>(Stage.class);
        int used = events.size();
        if (!enabled || used < 2) return out;
        events.synchronize(used - 1);
        for (int i = 1; i < used; i++) out.merge(stages.get(i), events.millis(i - 1, i), Double::sum);
        return out;
    }

    @Override
    public void close() { events.close(); }
}
