package io.prefill.cuda;

import jcuda.driver.JCudaDriver;

/**
 * Whether the CUDA backend can run here: our kernels in the jar, JCuda's native library, an
 * NVIDIA driver and at least one device. Probed once; tests use it to skip, the engine to explain.
 */
public final class CudaAvailability {
    private static volatile CudaAvailability cached;

    private final boolean available;
    private final String reason;
    private final int deviceCount;

    private CudaAvailability(boolean available, String reason, int deviceCount) {
        this.available = available;
        this.reason = reason;
        this.deviceCount = deviceCount;
    }

    public boolean available() { return available; }

    /** Why the backend is unavailable, or a one-line description when it is. */
    public String reason() { return reason; }

    public int deviceCount() { return deviceCount; }

    public static CudaAvailability probe() {
        CudaAvailability a = cached;
        if (a == null) {
            synchronized (CudaAvailability.class) {
                if (cached == null) cached = doProbe();
                a = cached;
            }
        }
        return a;
    }

    private static CudaAvailability doProbe() {
        if (KernelBinary.fatbin().isEmpty()) return new CudaAvailability(false, KernelBinary.buildNote(), 0);
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int r = JCudaDriver.cuInit(0);
            if (r != 0) return new CudaAvailability(false, "cuInit failed: " + CudaCheck.describe(r), 0);
            int[] count = new int[1];
            r = JCudaDriver.cuDeviceGetCount(count);
            if (r != 0) return new CudaAvailability(false, "cuDeviceGetCount failed: " + CudaCheck.describe(r), 0);
            if (count[0] == 0) return new CudaAvailability(false, "no CUDA device", 0);
            return new CudaAvailability(true, count[0] + " CUDA device(s); " + KernelBinary.buildNote(), count[0]);
        } catch (Throwable t) {  // UnsatisfiedLinkError when JCuda's natives or libcuda.so.1 are missing
            return new CudaAvailability(false, "JCuda driver library unavailable: " + t, 0);
        }
    }
}
