package io.prefill.cuda.forward;

import static io.prefill.cuda.CudaCheck.check;

import io.prefill.cuda.CudaStream;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/**
 * Per-stage device time of a pre-fill, from events recorded on the stream between stages (no
 * synchronisation until {@link #totals()}): {@code mark(stage)} charges the time since the
 * previous mark to `stage`. Disabled, every call is free.
 */
final class StageClock implements AutoCloseable {
    enum Stage { GEMM, ATTENTION, ESTIMATE, CERTIFICATE, OTHER }

    private final CudaStream stream;
    private final boolean enabled;
    private final List<CUevent> pool = new ArrayList<>();
    private final List<Stage> stages = new ArrayList<>();
    private int used;

    StageClock(CudaStream stream, boolean enabled) {
        this.stream = stream;
        this.enabled = enabled;
    }

    void start() {
        used = 0;
        stages.clear();
        if (enabled) record(null);
    }

    void mark(Stage stage) {
        if (enabled) record(stage);
    }

    private void record(Stage stage) {
        if (used == pool.size()) {
            CUevent e = new CUevent();
            check(JCudaDriver.cuEventCreate(e, 0), "cuEventCreate");
            pool.add(e);
        }
        check(JCudaDriver.cuEventRecord(pool.get(used++), stream.handle()), "cuEventRecord");
        stages.add(stage);
    }

    /** Milliseconds per stage since {@link #start()}; waits for the stream. Empty when disabled. */
    Map<Stage, Double> totals() {
        Map<Stage, Double> out = new EnumMap<>(Stage.class);
        if (!enabled || used < 2) return out;
        check(JCudaDriver.cuEventSynchronize(pool.get(used - 1)), "cuEventSynchronize");
        float[] ms = new float[1];
        for (int i = 1; i < used; i++) {
            check(JCudaDriver.cuEventElapsedTime(ms, pool.get(i - 1), pool.get(i)), "cuEventElapsedTime");
            out.merge(stages.get(i), (double) ms[0], Double::sum);
        }
        return out;
    }

    @Override
    public void close() {
        for (CUevent e : pool) JCudaDriver.cuEventDestroy(e);
        pool.clear();
    }
}
