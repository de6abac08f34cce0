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

    public CUstream handle() { return stream; }

    public void synchronize() {
        check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (an earlier launch on this stream failed)");
    }

    @Override
    public void close() { JCudaDriver.cuStreamDestroy(stream); }
}
