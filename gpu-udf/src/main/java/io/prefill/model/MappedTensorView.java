package io.prefill.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A tensor over one or more memory-mapped byte ranges. A tensor larger than one mapping
 * (a 70B model's embedding is over 2 GB) is split into chunks of a power-of-two size, a
 * multiple of the element size, so no element straddles two chunks.
 */
final class MappedTensorView implements TensorView {
    private final Path file;
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final long numel;
    private final ByteBuffer[] chunks;
    private final int chunkShift;
    private final long chunkMask;
    private final int elementBytes;

    MappedTensorView(Path file, String name, DType dtype, long[] shape, ByteBuffer[] chunks, int chunkShift) {
        this.file = file;
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        long n = 1;
        for (long s : shape) n *= s;
        this.numel = n;
        this.chunks = chunks;
        this.chunkShift = chunkShift;
        this.chunkMask = (1L << chunkShift) - 1;
        this.elementBytes = dtype.bytes();
    }

    @Override public String name() { return name; }

    @Override public DType dtype() { return dtype; }

    @Override public long[] shape() { return shape.clone(); }

    /** Cached: get() checks bounds on every call and shape() copies. */
    @Override public long numel() { return numel; }

    @Override
    public float get(long i) {
        if (i < 0 || i >= numel) {
            throw new IndexOutOfBoundsException(name + ": index " + i + " outside [0, " + numel + ")");
        }
        long byteOffset = i * elementBytes;
        return decode(chunks[(int) (byteOffset >>> chunkShift)], (int) (byteOffset & chunkMask));
    }

    @Override
    public void readRow(int r, float[] dst) {
        if (shape.length != 2) {
            throw new IllegalStateException(name + ": readRow needs a 2-D tensor, shape is " + Arrays.toString(shape));
        }
        if (r < 0 || r >= shape[0]) {
            throw new IndexOutOfBoundsException(name + ": row " + r + " outside [0, " + shape[0] + ")");
        }
        int cols = (int) shape[1];
        if (dst.length < cols) {
            throw new IllegalArgumentException(name + ": destination holds " + dst.length + " floats, row has " + cols);
        }
        long start = (long) r * cols * elementBytes;
        long end = start + (long) cols * elementBytes;
        int chunk = (int) (start >>> chunkShift);
        if (((end - 1) >>> chunkShift) == chunk) {
            decodeRun(chunks[chunk], (int) (start & chunkMask), dst, 0, cols);
        } else {
            long first = (long) r * cols;
            for (int c = 0; c < cols; c++) dst[c] = get(first + c);
        }
    }

    @Override
    public float[] toFloatArray() {
        if (numel > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name + ": " + numel + " elements do not fit in one float[]");
        }
        float[] out = new float[(int) numel];
        int done = 0;
        for (ByteBuffer chunk : chunks) {
            int count = chunk.capacity() / elementBytes;
            decodeRun(chunk, 0, out, done, count);
            done += count;
        }
        return out;
    }

    @Override
    public ByteBuffer[] rawChunks() {
        ByteBuffer[] out = new ByteBuffer[chunks.length];
        for (int i = 0; i < chunks.length; i++) out[i] = chunks[i].asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        return out;
    }

    private float decode(ByteBuffer b, int offset) {
        return switch (dtype) {
            case BF16 -> FloatCodecs.bf16ToFloat(b.getShort(offset));
            case F16 -> FloatCodecs.f16ToFloat(b.getShort(offset));
            case F32 -> b.getFloat(offset);
            case F8_E4M3 -> Fp8E4M3.toFloat(b.get(offset));
        };
    }

    /** Decodes count consecutive elements starting at byte offset into dst[at..]. */
    private void decodeRun(ByteBuffer b, int offset, float[] dst, int at, int count) {
        switch (dtype) {
            case BF16 -> {
                for (int i = 0; i < count; i++) dst[at + i] = FloatCodecs.bf16ToFloat(b.getShort(offset + 2 * i));
            }
            case F16 -> {
                for (int i = 0; i < count; i++) dst[at + i] = FloatCodecs.f16ToFloat(b.getShort(offset + 2 * i));
            }
            case F32 -> {
                for (int i = 0; i < count; i++) dst[at + i] = b.getFloat(offset + 4 * i);
            }
            case F8_E4M3 -> {
                for (int i = 0; i < count; i++) dst[at + i] = Fp8E4M3.toFloat(b.get(offset + i));
            }
        }
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " in " + file;
    }
}
