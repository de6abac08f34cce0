package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * One GPU by index with its primary context, shared by all threads of the JVM: each thread calls
 * {@link #makeCurrent()} before driver calls. Opened once per index and never released while the
 * JVM runs (executors keep one engine per GPU).
 */
public final class CudaDevice {
    private static final Map<Integer, CudaDevice> OPEN = new ConcurrentHashMap<>();

    private final int index;
    private final CUdevice device;
    private final CUcontext context;
    private final String name;
    private final int major, minor, multiprocessors;

    private CudaDevice(int index) {
        CudaAvailability a = CudaAvailability.probe();
        if (!a.available()) throw new CudaException("CUDA backend unavailable: " + a.reason());
        if (index < 0 || index >= a.deviceCount())
            throw new CudaException("no CUDA device " + index + " (" + a.deviceCount() + " present)");
        this.index = index;
        device = new CUdevice();
        check(JCudaDriver.cuDeviceGet(device, index), "cuDeviceGet(" + index + ")");
        context = new CUcontext();
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain(" + index + ")");
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent(" + index + ")");
        byte[] buf = new byte[256];
        check(JCudaDriver.cuDeviceGetName(buf, buf.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < buf.length && buf[len] != 0) len++;
        name = new String(buf, 0, len, StandardCharsets.US_ASCII);
        major = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        minor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    }

    public static CudaDevice open(int index) {
        CudaDevice d = OPEN.computeIfAbsent(index, CudaDevice::new);
        d.makeCurrent();
        return d;
    }

    /** Binds this device's context to the calling thread. */
    public void makeCurrent() {
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent(device " + index + ")");
    }

    public long freeMemory() { return memoryInfo()[0]; }

    public long totalMemory() { return memoryInfo()[1]; }

    private long[] memoryInfo() {
        long[] free = new long[1], total = new long[1];
        makeCurrent();
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    public int attribute(int attr) {
        int[] v = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    public int index() { return index; }
    public String name() { return name; }
    public int multiprocessors() { return multiprocessors; }
    public String computeCapability() { return major + "." + minor; }

    @Override
    public String toString() { return "cuda:" + index + " " + name + " (sm_" + major + minor + ")"; }
}
