package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/** Device-side elapsed time between two events recorded on a stream. */
public final class GpuTimer implements AutoCloseable {
    private final CUevent start = new CUevent(), stop = new CUevent();
    private final CudaStream stream;

    public GpuTimer(CudaStream stream) {
        this.stream = stream;
        check(JCudaDriver.cuEventCreate(start, 0), "cuEventCreate");
        check(JCudaDriver.cuEventCreate(stop, 0), "cuEventCreate");
    }

    public void start() { check(JCudaDriver.cuEventRecord(start, stream.handle()), "cuEventRecord"); }

    /** Records the stop event, waits for it and returns milliseconds since {@link #start()}. */
    public float stopMillis() {
        check(JCudaDriver.cuEventRecord(stop, stream.handle()), "cuEventRecord");
        check(JCudaDriver.cuEventSynchronize(stop), "cuEventSynchronize (a timed launch failed)");
        float[] ms = new float[1];
        check(JCudaDriver.cuEventElapsedTime(ms, start, stop), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void close() {
        JCudaDriver.cuEventDestroy(start);
        JCudaDriver.cuEventDestroy(stop);
    }
}
