package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import io.prefill.settings.PrefillSettings;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.JCudaDriver;

/**
 * One kernel of the fatbin with a typed launch: arguments are DeviceBuffer (pointer), DevicePlan
 * (a CsrPlan by value), TensorMap (a TmaDesc by value), Integer, Float or Long, in the kernel's
 * parameter order. Launch errors name
 * the kernel and its shape.
 */
public final class Kernel {
    private static final int DEFAULT_SMEM_LIMIT = 48 * 1024;
    private final String name;
    private final CUfunction function;
    private int smemLimit = DEFAULT_SMEM_LIMIT;

    Kernel(String name, CUfunction function) {
        this.name = name;
        this.function = function;
    }

    public String name() { return name; }

    public void launch(CudaStream stream, Dim3 grid, int threads, int smemBytes, Object... args) {
        String shape = name + " grid=" + grid + " block=" + threads + " smem=" + smemBytes;
        if (grid.x() <= 0 || grid.y() <= 0 || grid.z() <= 0) return;  // nothing to do (e.g. n = 0)
        allowSharedMemory(smemBytes, shape);
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) params[i] = param(args[i], i, shape);
        LaunchTrace trace = stream.trace();
        if (trace != null) trace.before(name, stream);
        try {
            check(JCudaDriver.cuLaunchKernel(function, grid.x(), grid.y(), grid.z(), threads, 1, 1, smemBytes,
                    stream.handle(), Pointer.to(params), null), "launch " + shape);
        } finally {
            if (trace != null) trace.after(stream);
        }
        if (PrefillSettings.CUDA_SYNC_LAUNCHES.get()) {  // debugging: pin an async fault to its kernel
            check(JCudaDriver.cuStreamSynchronize(stream.handle()), "run " + shape);
        }
    }

    /** Raises the kernel's dynamic shared-memory limit to smemBytes where it is lower. */
    private void allowSharedMemory(int smemBytes, String what) {
        if (smemBytes <= smemLimit) return;
        check(JCudaDriver.cuFuncSetAttribute(function, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                smemBytes), "raise dynamic shared memory of " + what);
        smemLimit = smemBytes;
    }

    /** Registers per thread the compiled kernel launches with (CU_FUNC_ATTRIBUTE_NUM_REGS). */
    public int registersPerThread() {
        int[] n = new int[1];
        check(JCudaDriver.cuFuncGetAttribute(n, CUfunction_attribute.CU_FUNC_ATTRIBUTE_NUM_REGS, function),
                "registers of " + name);
        return n[0];
    }

    /**
     * Clusters of this kernel (compiled with {@code __cluster_dims__(clusterSize, 1, 1)}) with
     * `threads` threads and `smemBytes` dynamic shared memory per CTA that the device runs at once.
     */
    public int maxActiveClusters(int clusterSize, int threads, int smemBytes) {
        allowSharedMemory(smemBytes, name);
        return JnaDriver.maxActiveClusters(function, clusterSize, threads, smemBytes, name);
    }

    /** CTAs of `threads` threads and `smemBytes` dynamic shared memory the driver can keep on one SM. */
    public int ctasPerSm(int threads, int smemBytes) {
        allowSharedMemory(smemBytes, name);
        int[] n = new int[1];
        check(JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(n, function, threads, smemBytes),
                "occupancy of " + name);
        return n[0];
    }

    /**
     * kernelParams[i] of cuLaunchKernel: a host pointer to the argument's bytes, whose size and
     * offset the driver takes from the kernel's own parameter layout. A plan is a struct of four
     * pointers by value (CsrPlan or CsrPlanOut, `.param .align 8 .b8 [32]`): 32 bytes holding the
     * four device addresses, in the struct's field order ({@link DevicePlan#kernelParam}). A tensor
     * map is the driver's 128 bytes (`.param .align 64 .b8 [128]`, {@link TensorMap#kernelParam}).
     */
    private static Pointer param(Object a, int i, String shape) {
        if (a instanceof DeviceBuffer b) return Pointer.to(b.pointer());
        if (a instanceof DevicePlan p) return Pointer.to(p.kernelParam());
        if (a instanceof TensorMap t) return Pointer.to(t.kernelParam());
        if (a instanceof Integer v) return Pointer.to(new int[] {v});
        if (a instanceof Float v) return Pointer.to(new float[] {v});
        if (a instanceof Long v) return Pointer.to(new long[] {v});
        throw new IllegalArgumentException(shape + ": argument " + i + " has unsupported type " + a);
    }

    /** Grid size. */
    public record Dim3(int x, int y, int z) {
        public static Dim3 of(long x) { return new Dim3(Math.toIntExact(x), 1, 1); }
        public static Dim3 of(long x, long y) { return new Dim3(Math.toIntExact(x), Math.toIntExact(y), 1); }
        @Override public String toString() { return "(" + x + "," + y + "," + z + ")"; }
    }
}
