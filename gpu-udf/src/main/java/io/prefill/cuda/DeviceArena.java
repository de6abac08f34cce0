package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import io.prefill.settings.PrefillSettings;
import java.util.ArrayDeque;
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
    /** The whole block (null with separate allocations); every buffer is a slice of it. */
    private final DeviceBuffer block;
    private final long capacity;
    private long used;
    /**
     * -Dprefill.cuda.separateAllocations=true: every buffer gets its own cuMemAlloc, so that
     * compute-sanitizer memcheck sees an access past a buffer's end (inside one arena it cannot).
     */
    private final boolean separate = PrefillSettings.CUDA_SEPARATE_ALLOCATIONS.get();
    private final ArrayDeque<long[]> separateMarks = new ArrayDeque<>();
    private final ArrayDeque<CUdeviceptr> separatePointers = new ArrayDeque<>();

    public DeviceArena(CudaDevice device, long capacityBytes) {
        this.device = device;
        this.capacity = capacityBytes;
        device.makeCurrent();
        if (separate) {
            block = null;
        } else {
            check(JCudaDriver.cuMemAlloc(base, capacityBytes),
                    "cuMemAlloc(" + capacityBytes + " bytes) for the device arena on " + device);
            try {
                block = DeviceBuffer.allocation(base, capacityBytes, "device arena on " + device);
            } catch (RuntimeException e) {
                JCudaDriver.cuMemFree(base);
                throw e;
            }
        }
    }

    public DeviceBuffer alloc(long bytes, String label) {
        long start = (used + ALIGN - 1) / ALIGN * ALIGN;
        if (start + bytes > capacity)
            throw new CudaException("device arena on " + device + " exhausted: " + label + " needs " + bytes
                    + " bytes, " + (capacity - start) + " of " + capacity + " left");
        used = start + Math.max(bytes, 1);
        if (separate) {
            CUdeviceptr p = new CUdeviceptr();
            check(JCudaDriver.cuMemAlloc(p, Math.max(bytes, 1)), "cuMemAlloc(" + bytes + ") for " + label);
            separateMarks.push(new long[] {start});
            separatePointers.push(p);
            return DeviceBuffer.allocation(p, bytes, label);
        }
        return block.slice(start, bytes, label);
    }

    public long mark() { return used; }

    public void reset(long mark) {
        if (mark < 0 || mark > used) throw new IllegalArgumentException("bad arena mark " + mark);
        used = mark;
        while (separate && !separateMarks.isEmpty() && separateMarks.peek()[0] >= mark) {
            separateMarks.pop();
            JCudaDriver.cuMemFree(separatePointers.pop());
        }
    }

    public long used() { return used; }
    public long capacity() { return capacity; }

    @Override
    public void close() {
        device.makeCurrent();
        reset(0);
        if (!separate) JCudaDriver.cuMemFree(base);
    }
}
