package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/** A non-blocking stream of one device; launches and copies of one layer go in order on it. */
public final class CudaStream implements AutoCloseable {
    private final CUstream stream = new CUstream();

    public CudaStream(CudaDevice device) {
        device.makeCurrent();
        check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    }

    private LaunchTrace trace;

    public CUstream handle() { return stream; }

    public void synchronize() {
        long t0 = trace == null ? 0 : System.nanoTime();
        check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (an earlier launch on this stream failed)");
        if (trace != null) trace.synchronised(System.nanoTime() - t0);
    }

    /** Traces this stream's launches and copies from now on ({@link LaunchTrace}); null stops. */
    public void trace(LaunchTrace t) { this.trace = t; }

    /** The trace this stream's operations go to, or null. */
    LaunchTrace trace() { return trace; }

    @Override
    public void close() { JCudaDriver.cuStreamDestroy(stream); }
}
