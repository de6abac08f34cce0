package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/**
 * CUDA events recorded on a stream one after the other, for timing the spans between them; a new
 * round ({@link #reset}) reuses the events of the last one, so timing a pre-fill creates none.
 */
public final class EventPool implements AutoCloseable {
    private final List<CUevent> pool = new ArrayList<>();
    private int used;

    /** Records the round's next event on the stream and returns its index in the round. */
    public int record(CudaStream stream) {
        if (used == pool.size()) {
            CUevent e = new CUevent();
            check(JCudaDriver.cuEventCreate(e, 0), "cuEventCreate");
            pool.add(e);
        }
        check(JCudaDriver.cuEventRecord(pool.get(used), stream.handle()), "cuEventRecord");
        return used++;
    }

    /** Events recorded in this round. */
    public int size() { return used; }

    /** Waits until event i of the round has happened (and so every event before it on its stream). */
    public void synchronize(int i) {
        check(JCudaDriver.cuEventSynchronize(pool.get(i)), "cuEventSynchronize (a timed launch failed)");
    }

    /** Milliseconds from event `from` to event `to` of the round (both recorded and happened). */
    public double millis(int from, int to) {
        float[] ms = new float[1];
        check(JCudaDriver.cuEventElapsedTime(ms, pool.get(from), pool.get(to)), "cuEventElapsedTime");
        return ms[0];
    }

    /** Starts a new round; its events reuse this one's. */
    public void reset() { used = 0; }

    @Override
    public void close() {
        for (CUevent e : pool) JCudaDriver.cuEventDestroy(e);
        pool.clear();
        used = 0;
    }
}
