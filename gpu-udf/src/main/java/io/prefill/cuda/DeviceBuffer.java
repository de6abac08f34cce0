package io.prefill.cuda;

import static io.prefill.cuda.CudaCheck.check;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/** A slice of a {@link DeviceArena}. Copies are ordered on the given stream; downloads wait for it. */
public final class DeviceBuffer {
    private final CUdeviceptr pointer;
    private final long bytes;
    private final String label;

    DeviceBuffer(CUdeviceptr pointer, long bytes, String label) {
        this.pointer = pointer;
        this.bytes = bytes;
        this.label = label;
    }

    public CUdeviceptr pointer() { return pointer; }

    /** A view of bytes [offset, offset + length) of this buffer (e.g. one chunk of tokens). */
    public DeviceBuffer slice(long offset, long length, String sliceLabel) {
        if (offset < 0 || length < 0 || offset + length > bytes)
            throw new IllegalArgumentException(label + ": slice [" + offset + ", " + (offset + length)
                    + ") outside " + bytes + " bytes");
        return new DeviceBuffer(pointer.withByteOffset(offset), length, sliceLabel);
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
        check(JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(host), pointer.withByteOffset(4L * offset), 4L * host.length,
                s.handle()), "download from " + label);
        s.synchronize();
    }

    /** Fills with a 32-bit pattern (e.g. 0x7FC07FC0 = bf16 NaN pairs to poison an output). */
    public void fill32(CudaStream s, int pattern) {
        check(JCudaDriver.cuMemsetD32Async(pointer, pattern, bytes / 4, s.handle()), "cuMemsetD32Async(" + label + ")");
    }

    public void zero(CudaStream s) { fill32(s, 0); }

    private void copyIn(CudaStream s, Pointer host, long n) {
        fits(n);
        check(JCudaDriver.cuMemcpyHtoDAsync(pointer, host, n, s.handle()), "upload " + n + " bytes to " + label);
        s.synchronize();  // the host array may be reused right after
    }

    private void copyOut(CudaStream s, Pointer host, long n) {
        fits(n);
        check(JCudaDriver.cuMemcpyDtoHAsync(host, pointer, n, s.handle()), "download " + n + " bytes from " + label);
        s.synchronize();
    }

    private void fits(long n) {
        if (n > bytes) throw new IllegalArgumentException(label + ": " + n + " bytes do not fit in " + bytes);
    }
}
