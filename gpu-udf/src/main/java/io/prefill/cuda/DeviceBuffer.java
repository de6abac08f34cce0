package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUpointer_attribute;
import jcuda.driver.JCudaDriver;

/**
 * A slice of a {@link DeviceArena}. Copies are ordered on the given stream; downloads wait for it.
 *
 * <p>Besides its CUdeviceptr a buffer knows its device address, which a kernel parameter needs
 * when it is a struct holding pointers (a {@link DevicePlan} passes its four lists' addresses as
 * one CsrPlan). JCuda keeps a CUdeviceptr's address to itself, so the address comes from the
 * driver: cuPointerGetAttribute(CU_POINTER_ATTRIBUTE_DEVICE_POINTER) returns, for memory of
 * cuMemAlloc, the pointer's own value. It is asked once per cuMemAlloc ({@link #allocation}: a
 * {@link DeviceArena}'s one block, each buffer when the arena makes separate allocations, a buffer
 * allocated on its own) and carried down by the same arithmetic as the CUdeviceptr itself
 * (withByteOffset): an arena buffer has the block's address plus its offset, a slice its parent's
 * plus its own. So no launch waits on the driver for an address, a buffer of an arena costs no
 * lookup, and with separate allocations (compute-sanitizer runs) each buffer has its own block's.
 */
public final class DeviceBuffer {
    private final CUdeviceptr pointer;
    private final long address;
    private final long bytes;
    private final String label;

    /** A buffer at `pointer`, whose device address is `address` (the same place). */
    DeviceBuffer(CUdeviceptr pointer, long address, long bytes, String label) {
        this.pointer = pointer;
        this.address = address;
        this.bytes = bytes;
        this.label = label;
    }

    /** The whole of an allocation of cuMemAlloc (its device address asked of the driver, once). */
    static DeviceBuffer allocation(CUdeviceptr pointer, long bytes, String label) {
        long[] address = new long[1];
        check(JCudaDriver.cuPointerGetAttribute(Pointer.to(address),
                CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, pointer), "device address of " + label);
        return new DeviceBuffer(pointer, address[0], bytes, label);
    }

    public CUdeviceptr pointer() { return pointer; }

    /** The device address of the first byte: what a kernel reads for this buffer's pointer. */
    public long address() { return address; }

    /** A view of bytes [offset, offset + length) of this buffer (e.g. one chunk of tokens). */
    public DeviceBuffer slice(long offset, long length, String sliceLabel) {
        if (offset < 0 || length < 0 || offset + length > bytes)
            throw new IllegalArgumentException(label + ": slice [" + offset + ", " + (offset + length)
                    + ") outside " + bytes + " bytes");
        return new DeviceBuffer(pointer.withByteOffset(offset), address + offset, length, sliceLabel);
    }
    public long bytes() { return bytes; }
    public String label() { return label; }

    public void upload(CudaStream s, byte[] host) { copyIn(s, Pointer.to(host), host.length); }
    public void upload(CudaStream s, short[] host) { copyIn(s, Pointer.to(host), 2L * host.length); }
    public void upload(CudaStream s, int[] host) { copyIn(s, Pointer.to(host), 4L * host.length); }
    public void upload(CudaStream s, float[] host) { copyIn(s, Pointer.to(host), 4L * host.length); }
    public void upload(CudaStream s, double[] host) { copyIn(s, Pointer.to(host), 8L * host.length); }

    public void download(CudaStream s, short[] host) { copyOut(s, Pointer.to(host), 2L * host.length); }
    public void download(CudaStream s, int[] host) { copyOut(s, Pointer.to(host), 4L * host.length); }
    public void download(CudaStream s, float[] host) { copyOut(s, Pointer.to(host), 4L * host.length); }
    public void download(CudaStream s, long[] host) { copyOut(s, Pointer.to(host), 8L * host.length); }
    public void download(CudaStream s, double[] host) { copyOut(s, Pointer.to(host), 8L * host.length); }
    public void download(CudaStream s, byte[] host) { copyOut(s, Pointer.to(host), host.length); }

    /** Downloads ints starting at int index `offset` of this buffer. */
    public void withOffsetDownload(CudaStream s, long offset, int[] host) {
        if (4L * (offset + host.length) > bytes) throw new IllegalArgumentException(label + ": read past end");
        traced(s, "download " + label, () -> check(JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(host),
                pointer.withByteOffset(4L * offset), 4L * host.length, s.handle()), "download from " + label));
        s.synchronize();
    }

    /** Fills with a 32-bit pattern (e.g. 0x7FC07FC0 = bf16 NaN pairs to poison an output). */
    public void fill32(CudaStream s, int pattern) {
        traced(s, "fill " + label, () -> check(JCudaDriver.cuMemsetD32Async(pointer, pattern, bytes / 4, s.handle()),
                "cuMemsetD32Async(" + label + ")"));
    }

    public void zero(CudaStream s) { fill32(s, 0); }

    /** Copies all of src (no larger than this buffer) to the start of this one, on the device, in stream order. */
    public void copyFrom(CudaStream s, DeviceBuffer src) {
        fits(src.bytes);
        traced(s, "copy to " + label, () -> check(JCudaDriver.cuMemcpyDtoDAsync(pointer, src.pointer, src.bytes, s.handle()),
                "copy " + src.bytes + " bytes from " + src.label + " to " + label));
    }

    private void copyIn(CudaStream s, Pointer host, long n) {
        fits(n);
        traced(s, "upload " + label, () -> check(JCudaDriver.cuMemcpyHtoDAsync(pointer, host, n, s.handle()),
                "upload " + n + " bytes to " + label));
        s.synchronize();  // the host array may be reused right after
    }

    private void copyOut(CudaStream s, Pointer host, long n) {
        fits(n);
        traced(s, "download " + label, () -> check(JCudaDriver.cuMemcpyDtoHAsync(host, pointer, n, s.handle()),
                "download " + n + " bytes from " + label));
        s.synchronize();
    }

    /** Issues a copy or fill on s, between the events of s's launch trace when it has one. */
    private static void traced(CudaStream s, String name, Runnable issue) {
        LaunchTrace trace = s.trace();
        if (trace != null) trace.before(name, s);
        try {
            issue.run();
        } finally {
            if (trace != null) trace.after(s);
        }
    }

    private void fits(long n) {
        if (n > bytes) throw new IllegalArgumentException(label + ": " + n + " bytes do not fit in " + bytes);
    }
}
