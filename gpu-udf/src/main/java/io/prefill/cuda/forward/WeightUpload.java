package io.prefill.cuda.forward;

import static io.prefill.cuda.CudaCheck.check;

import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.KernelModule;
import io.prefill.cuda.ModelKernels;
import io.prefill.model.DType;
import io.prefill.model.Fp8Weight;
import io.prefill.model.TensorView;

import java.nio.ByteBuffer;
import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;

/**
 * Host-to-device weight copies through two pinned staging buffers: while one buffer's
 * asynchronous copy runs, the CPU fills the other from the memory-mapped checkpoint. Tensors
 * stored as f32 or f16 go through a device scratch buffer and are converted to bf16 there.
 */
final class WeightUpload implements AutoCloseable {
    private static final int STAGING = 64 << 20;
    private final CudaStream stream;
    private final ModelKernels ops;
    private final Pointer[] pinned = {new Pointer(), new Pointer()};
    private final ByteBuffer[] views = new ByteBuffer[2];
    private final CUevent[] free = {new CUevent(), new CUevent()};
    private final DeviceArena scratchArena;
    private final DeviceBuffer[] scratch = new DeviceBuffer[2];
    private int turn;
    private long bytesCopied;

    WeightUpload(KernelModule module, CudaStream stream) {
        this.stream = stream;
        this.ops = new ModelKernels(module, stream);
        this.scratchArena = new DeviceArena(module.device(), 2L * STAGING + 1024);
        for (int i = 0; i < 2; i++) {
            check(JCudaDriver.cuMemAllocHost(pinned[i], STAGING), "cuMemAllocHost(" + STAGING + ") for weight staging");
            views[i] = pinned[i].getByteBuffer(0, STAGING);
            check(JCudaDriver.cuEventCreate(free[i], 0), "cuEventCreate");
            check(JCudaDriver.cuEventRecord(free[i], stream.handle()), "cuEventRecord");
            scratch[i] = scratchArena.alloc(STAGING, "weight staging " + i);
        }
    }

    /**
     * Copies a matrix into dst starting at element `elementOffset`: bf16 as it is, f16/f32
     * converted to bf16 on the device, FP8 E4M3 codes (an {@link Fp8Weight}, whose row scales go
     * separately through {@link #floats}) as they are, one byte each.
     */
    void matrix(TensorView t, DeviceBuffer dst, long elementOffset) {
        DType dtype = t.dtype();
        int srcBytes = dtype.bytes();
        boolean asIs = dtype == DType.BF16 || dtype == DType.F8_E4M3;
        int dstBytes = dtype == DType.F8_E4M3 ? 1 : 2;
        long elements = t.numel();
        if (dstBytes * (elementOffset + elements) > dst.bytes())
            throw new IllegalArgumentException(t.name() + ": " + elements + " elements do not fit " + dst.label());
        long done = 0;  // elements copied so far
        for (ByteBuffer chunk : t.rawChunks()) {
            ByteBuffer src = chunk.duplicate();
            while (src.hasRemaining()) {
                int len = Math.min(src.remaining(), STAGING) / srcBytes * srcBytes;
                int i = turn;
                turn ^= 1;
                check(JCudaDriver.cuEventSynchronize(free[i]), "wait for weight staging buffer");
                ByteBuffer view = views[i];
                view.clear();
                ByteBuffer piece = src.slice();
                piece.limit(len);
                view.put(piece);
                src.position(src.position() + len);
                long count = len / srcBytes;
                DeviceBuffer target = dst.slice(dstBytes * (elementOffset + done), dstBytes * count, dst.label());
                if (asIs) {
                    check(JCudaDriver.cuMemcpyHtoDAsync(target.pointer(), pinned[i], len, stream.handle()),
                            "copy " + t.name() + " to the device");
                } else {
                    check(JCudaDriver.cuMemcpyHtoDAsync(scratch[i].pointer(), pinned[i], len, stream.handle()),
                            "copy " + t.name() + " to the device");
                    ops.convertToBf16(scratch[i], ModelKernels.SourceType.of(dtype), count, target);
                }
                check(JCudaDriver.cuEventRecord(free[i], stream.handle()), "cuEventRecord");
                done += count;
                bytesCopied += len;
            }
        }
        if (done != elements) throw new IllegalStateException(t.name() + ": copied " + done + " of " + elements + " elements");
    }

    /** A small fp32 vector (norm weights), decoded on the host. */
    DeviceBuffer vector(TensorView t, DeviceArena arena) {
        float[] v = t.toFloatArray();
        DeviceBuffer b = arena.alloc(4L * v.length, t.name());
        b.upload(stream, v);
        return b;
    }

    void floats(float[] v, DeviceBuffer dst) { dst.upload(stream, v); }

    /** fp32 values into dst starting at float `offset` (row scales of stacked FP8 projections). */
    void floats(float[] v, DeviceBuffer dst, long offset) {
        dst.slice(4L * offset, 4L * v.length, dst.label()).upload(stream, v);
    }

    long bytesCopied() { return bytesCopied; }

    void finish() { stream.synchronize(); }

    @Override
    public void close() {
        stream.synchronize();
        for (int i = 0; i < 2; i++) {
            JCudaDriver.cuEventDestroy(free[i]);
            JCudaDriver.cuMemFreeHost(pinned[i]);
        }
        scratchArena.close();
    }
}
