package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;

/** Runs everywhere (no GPU tag): the backend must explain itself when it cannot run. */
class CudaAvailabilityTest {

    /** A driver that answers with fixed result codes and device count. */
    private static CudaAvailability.Driver driver(int init, int count, int devices) {
        return new CudaAvailability.Driver() {
            @Override public int init() { return init; }
            @Override public int deviceCount(int[] out) { out[0] = devices; return count; }
        };
    }

    @Test
    void eachReasonTheBackendCannotRunIsNamed() {
        CudaAvailability noKernels = CudaAvailability.probe(false, "kernels were not built (nvcc was not found at build time)",
                driver(0, 0, 1));
        assertFalse(noKernels.available());
        assertEquals("kernels were not built (nvcc was not found at build time)", noKernels.reason());

        CudaAvailability noDriver = CudaAvailability.probe(true, "note", driver(CUresult.CUDA_ERROR_NO_DEVICE, 0, 0));
        assertFalse(noDriver.available());
        assertTrue(noDriver.reason().startsWith("cuInit failed: ") && noDriver.reason().contains("CUDA_ERROR_NO_DEVICE"),
                noDriver.reason());

        CudaAvailability countFailed = CudaAvailability.probe(true, "note", driver(0, CUresult.CUDA_ERROR_NOT_INITIALIZED, 0));
        assertFalse(countFailed.available());
        assertTrue(countFailed.reason().startsWith("cuDeviceGetCount failed: ")
                && countFailed.reason().contains("CUDA_ERROR_NOT_INITIALIZED"), countFailed.reason());

        CudaAvailability none = CudaAvailability.probe(true, "note", driver(0, 0, 0));
        assertFalse(none.available());
        assertEquals("no CUDA device", none.reason());

        CudaAvailability noLibrary = CudaAvailability.probe(true, "note", new CudaAvailability.Driver() {
            @Override public int init() { throw new UnsatisfiedLinkError("libcuda.so.1: cannot open shared object file"); }
            @Override public int deviceCount(int[] out) { throw new AssertionError("not reached"); }
        });
        assertFalse(noLibrary.available());
        assertTrue(noLibrary.reason().startsWith("JCuda driver library unavailable: ")
                && noLibrary.reason().contains("libcuda.so.1"), noLibrary.reason());
    }

    @Test
    void jcudasManyLineLoadErrorBecomesItsLastAttemptsReason() {
        String jcuda = String.join("\n",
                "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"",
                "Operating system name: Linux",
                "---(start of nested stack traces)---",
                "Stack trace from the attempt to load the library as a file:",
                "java.lang.UnsatisfiedLinkError: no JCudaDriver-12.6.0-linux-x86_64 in java.library.path: /usr/lib",
                "\tat java.base/java.lang.ClassLoader.loadLibrary(ClassLoader.java:2434)",
                "Stack trace from the attempt to load the library as a resource:",
                "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open "
                        + "shared object file: No such file or directory",
                "\tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)",
                "---(end of nested stack traces)---");
        assertEquals("libcuda.so.1: cannot open shared object file: No such file or directory",
                CudaAvailability.rootReason(new UnsatisfiedLinkError(jcuda)));
        assertEquals("no device here", CudaAvailability.rootReason(new IllegalStateException("no device here\nmore")));
    }

    @Test
    void aRunnableBackendSaysHowManyDevicesAndWhichBuild() {
        CudaAvailability two = CudaAvailability.probe(true, "kernels built by nvcc 12.6 for sm_90a", driver(0, 0, 2));
        assertTrue(two.available());
        assertEquals(2, two.deviceCount());
        assertEquals("2 CUDA device(s); kernels built by nvcc 12.6 for sm_90a", two.reason());
    }

    @Test
    void thisMachinesAnswerFollowsItsBuild() {
        CudaAvailability a = CudaAvailability.probe();
        if (KernelBinary.fatbin().isEmpty()) {
            assertFalse(a.available());
            assertEquals(KernelBinary.buildNote(), a.reason());
        } else if (a.available()) {
            assertTrue(a.deviceCount() > 0);
            assertTrue(a.reason().endsWith(KernelBinary.buildNote()), a.reason());
        } else {
            assertEquals(0, a.deviceCount());
            assertFalse(a.reason().contains(KernelBinary.buildNote()), "a backend that cannot run says why, not how it was built");
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1.0f, Bf16.round(1.0f));
        assertEquals(1.0f, Bf16.round(1.00390625f));       // halfway, even stays
        assertEquals(1.015625f, Bf16.round(1.01171875f));  // halfway above an odd mantissa: up to even
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
    }
}
