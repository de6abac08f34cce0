package io.prefill.cuda;

/** A failed CUDA driver call or launch; the message names the operation and the CUDA error. */
public final class CudaException extends RuntimeException {
    private final int result;

    public CudaException(String message, int result) {
        super(message);
        this.result = result;
    }

    public CudaException(String message) {
        this(message, -1);
    }

    /** The CUresult code, or -1 when the failure did not come from the driver. */
    public int result() { return result; }
}
