package io.prefill.cuda;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.lang.reflect.Method;
import jcuda.NativePointerObject;
import jcuda.driver.CUfunction;
import jcuda.driver.CUresult;

/**
 * The CUDA driver calls the Hopper kernels need that JCuda 12.6 has no binding for, called in the
 * driver library JCuda itself loaded (libcuda) through JNA: {@code cuTensorMapEncodeTiled}
 * ({@link TensorMap}) and {@code cuOccupancyMaxActiveClusters} ({@link Kernel#maxActiveClusters}).
 * Loaded once; where the library or a function is missing (a driver older than CUDA 12),
 * {@link #unavailable} says why and the kernels that need them are not picked.
 */
final class JnaDriver {
    /** The functions, as JNA calls them (cuda.h's signatures; enums and cuuint32_t as int). */
    interface Functions extends Library {
        int cuTensorMapEncodeTiled(Pointer tensorMap, int dataType, int rank, Pointer globalAddress, long[] globalDim,
                                   long[] globalStrides, int[] boxDim, int[] elementStrides, int interleave, int swizzle,
                                   int l2Promotion, int oobFill);

        int cuOccupancyMaxActiveClusters(int[] numClusters, Pointer func, Pointer config);
    }

    private static final String[] NAMES = {"libcuda.so.1", "cuda"};
    private static final String[] NEEDED = {"cuTensorMapEncodeTiled", "cuOccupancyMaxActiveClusters"};
    private static final Functions LIB;
    private static final String UNAVAILABLE;

    static {
        Functions found = null;
        StringBuilder why = new StringBuilder();
        for (String name : NAMES) {
            try {
                Functions f = Native.load(name, Functions.class);
                NativeLibrary lib = NativeLibrary.getInstance(name);
                for (String fn : NEEDED) lib.getFunction(fn);
                found = f;
                break;
            } catch (LinkageError | RuntimeException e) {  // no library, no function, JNA's native part missing
                why.append(why.length() == 0 ? "" : "; ").append(name).append(": ").append(e.getMessage());
            }
        }
        LIB = found;
        UNAVAILABLE = found != null ? null
                : "the CUDA driver's " + String.join(" and ", NEEDED) + " (CUDA 12+) could not be loaded (" + why + ")";
    }

    private JnaDriver() { }

    /** Why these calls cannot be made in this process, or null when they can. */
    static String unavailable() { return UNAVAILABLE; }

    static Functions functions() {
        if (LIB == null) throw new IllegalStateException(UNAVAILABLE);
        return LIB;
    }

    /** Throws a CudaException naming the call when rc is not CUDA_SUCCESS. */
    static void check(int rc, String what) {
        if (rc != CUresult.CUDA_SUCCESS) throw new CudaException(what + ": " + CUresult.stringFor(rc));
    }

    /**
     * How many clusters of a kernel compiled with {@code __cluster_dims__} can run at once on the
     * current context's device with `threads` threads and `smemBytes` dynamic shared memory per CTA
     * (the kernel's compiled cluster size; the function's shared-memory limit must already allow
     * smemBytes).
     */
    static int maxActiveClusters(CUfunction function, int clusterSize, int threads, int smemBytes, String what) {
        // CUlaunchConfig (cuda.h): gridDim x/y/z, blockDim x/y/z, sharedMemBytes (7 x uint32), then
        // hStream, attrs (pointers, 8-aligned at 32 and 40), numAttrs (uint32 at 48); 56 bytes.
        try (Memory config = new Memory(56)) {
            config.clear();
            config.setInt(0, clusterSize);
            config.setInt(4, 1);
            config.setInt(8, 1);
            config.setInt(12, threads);
            config.setInt(16, 1);
            config.setInt(20, 1);
            config.setInt(24, smemBytes);
            int[] n = new int[1];
            check(functions().cuOccupancyMaxActiveClusters(n, new Pointer(nativePointer(function)), config),
                    "cuOccupancyMaxActiveClusters for " + what + " (" + threads + " threads, " + smemBytes
                            + " bytes of shared memory, clusters of " + clusterSize + ")");
            return n[0];
        }
    }

    /** The CUfunction handle JCuda holds (it keeps the accessor to itself). */
    private static long nativePointer(NativePointerObject o) {
        try {
            Method m = NativePointerObject.class.getDeclaredMethod("getNativePointer");
            m.setAccessible(true);
            return (long) m.invoke(o);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot read the native handle of " + o + " from JCuda", e);
        }
    }
}
