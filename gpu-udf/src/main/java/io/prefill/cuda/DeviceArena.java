package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * One cuMemAlloc up front, then bump sub-allocation: launches never allocate, and a layer's
 * scratch is released at once with {@link #reset(long)} back to a {@link #mark()}.
 * Not thread-safe: one arena per engine thread and device.
 */
public final class DeviceArena implements AutoCloseable {
    private static final long ALIGN = 256;
    private final CudaDevice device;
    private final CUdeviceptr base = new CUdeviceptr();
    private final long capacity;
    private long used;

    public DeviceArena(CudaDevice device, long capacityBytes) {
        this.device = device;
        this.capacity = capacityBytes;
        device.makeCurrent();
        check(JCudaDriver.cuMemAlloc(base, capacityBytes),
                "cuMemAlloc(" + capacityBytes + " bytes) for the device arena on " + device);
    }

    public DeviceBuffer alloc(long bytes, String label) {
        long start = (used + ALIGN - 1) / ALIGN * ALIGN;
        if (start + bytes > capacity)
            throw new CudaException("device arena on " + device + " exhausted: " + label + " needs " + bytes
                    + " bytes, " + (capacity - start) + " of " + capacity + " left");
        used = start + Math.max(bytes, 1);
        return new DeviceBuffer(base.withByteOffset(start), bytes, label);
    }

    public long mark() { return used; }

    public void reset(long mark) {
        if (mark < 0 || mark > used) throw new IllegalArgumentException("bad arena mark " + mark);
        used = mark;
    }

    public long used() { return used; }
    public long capacity() { return capacity; }

    @Override
    public void close() {
        device.makeCurrent();
        JCudaDriver.cuMemFree(base);
    }
}
