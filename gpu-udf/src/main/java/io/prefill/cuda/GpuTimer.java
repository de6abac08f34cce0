package io.prefill.cuda;

/** Device-side elapsed time between two events recorded on a stream. */
public final class GpuTimer implements AutoCloseable {
    private final EventPool events = new EventPool();
    private final CudaStream stream;

    public GpuTimer(CudaStream stream) { this.stream = stream; }

    public void start() {
        events.reset();
        events.record(stream);
    }

    /** Records the stop event, waits for it and returns milliseconds since {@link #start()}. */
    public float stopMillis() {
        int stop = events.record(stream);
        events.synchronize(stop);
        return (float) events.millis(0, stop);
    }

    @Override
    public void close() { events.close(); }
}
