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

    /** The two driver calls the probe makes; a seam so that each outcome can be tested without a GPU. */
    interface Driver {
        /** cuInit(0)'s result code. */
        int init();

        /** cuDeviceGetCount's result code; the count in count[0]. */
        int deviceCount(int[] count);
    }

    private static final Driver JCUDA = new Driver() {
        @Override
        public int init() {
            JCudaDriver.setExceptionsEnabled(false);
            return JCudaDriver.cuInit(0);
        }

        @Override
        public int deviceCount(int[] count) { return JCudaDriver.cuDeviceGetCount(count); }
    };

    private static CudaAvailability doProbe() {
        return probe(KernelBinary.fatbin().isPresent(), KernelBinary.buildNote(), JCUDA);
    }

    /** The answer for a build with or without kernels, whose status reads buildNote, on this driver. */
    static CudaAvailability probe(boolean kernelsBuilt, String buildNote, Driver driver) {
        if (!kernelsBuilt) return new CudaAvailability(false, buildNote, 0);
        try {
            int r = driver.init();
            if (r != 0) return new CudaAvailability(false, "cuInit failed: " + CudaCheck.describe(r), 0);
            int[] count = new int[1];
            r = driver.deviceCount(count);
            if (r != 0) return new CudaAvailability(false, "cuDeviceGetCount failed: " + CudaCheck.describe(r), 0);
            if (count[0] == 0) return new CudaAvailability(false, "no CUDA device", 0);
            return new CudaAvailability(true, count[0] + " CUDA device(s); " + buildNote, count[0]);
        } catch (Throwable t) {  // UnsatisfiedLinkError when JCuda's natives or libcuda.so.1 are missing
            return new CudaAvailability(false, "JCuda driver library unavailable: " + rootReason(t), 0);
        }
    }

    /**
     * One line for a failed load. JCuda's message spans many lines (the OS, then each load attempt
     * with its stack trace); the last attempt's error says what is missing, e.g. "libcuda.so.1:
     * cannot open shared object file" (no NVIDIA driver on this machine).
     */
    static String rootReason(Throwable t) {
        String m = t.getMessage() == null ? t.toString() : t.getMessage();
        String last = null;
        for (String line : m.split("\\R")) {
            int at = line.indexOf("UnsatisfiedLinkError: ");
            if (at >= 0) last = line.substring(at + "UnsatisfiedLinkError: ".length());
        }
        if (last == null) return m.lines().findFirst().orElse(t.getClass().getName()).strip();
        int so = last.lastIndexOf(".so: ");
        return (so >= 0 ? last.substring(so + ".so: ".length()) : last).strip();
    }
}
