package io.prefill.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rows [first, first + count) of a 2-D tensor (elements, of a 1-D one), read in place: one
 * projection of a fused checkpoint tensor such as Phi-3's {@code qkv_proj} (q rows, then k, then v).
 * Row-major storage makes the rows one contiguous byte range, so the raw bytes are slices of the
 * whole tensor's.
 */
final class TensorRows implements TensorView {
    private final TensorView whole;
    private final long first;
    private final long count;
    private final long rowElements;
    private final long[] shape;

    private TensorRows(TensorView whole, long first, long count) {
        long[] s = whole.shape();
        if (s.length != 1 && s.length != 2) {
            throw new IllegalArgumentException(whole.name() + ": rows of a " + s.length + "-D tensor");
        }
        if (first < 0 || count <= 0 || first + count > s[0]) {
            throw new IllegalArgumentException(whole.name() + ": rows [" + first + ", " + (first + count)
                    + ") outside [0, " + s[0] + ")");
        }
        this.whole = whole;
        this.first = first;
        this.count = count;
        this.rowElements = s.length == 2 ? s[1] : 1;
        this.shape = s.length == 2 ? new long[] {count, s[1]} : new long[] {count};
    }

    /** The rows; of an FP8 weight, an FP8 weight again (its codes' rows with their scales). */
    static TensorView of(TensorView whole, long first, long count) {
        if (whole instanceof Fp8Weight f) return f.rows(first, count);
        return new TensorRows(whole, first, count);
    }

    @Override public String name() { return whole.name() + "[" + first + ":" + (first + count) + "]"; }

    @Override public DType dtype() { return whole.dtype(); }

    @Override public long[] shape() { return shape.clone(); }

    @Override public long numel() { return count * rowElements; }

    @Override
    public float get(long i) {
        if (i < 0 || i >= numel()) throw new IndexOutOfBoundsException(name() + ": index " + i + " outside [0, " + numel() + ")");
        return whole.get(first * rowElements + i);
    }

    @Override
    public void readRow(int r, float[] dst) {
        if (shape.length != 2) {
            throw new IllegalStateException(name() + ": readRow needs a 2-D tensor, shape is " + Arrays.toString(shape));
        }
        if (r < 0 || r >= count) throw new IndexOutOfBoundsException(name() + ": row " + r + " outside [0, " + count + ")");
        whole.readRow(Math.toIntExact(first + r), dst);
    }

    @Override
    public float[] toFloatArray() {
        if (numel() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name() + ": " + numel() + " elements do not fit in one float[]");
        }
        float[] out = new float[(int) numel()];
        for (int i = 0; i < out.length; i++) out[i] = whole.get(first * rowElements + i);
        return out;
    }

    @Override
    public ByteBuffer[] rawChunks() {
        long elementBytes = dtype().bytes();
        long from = first * rowElements * elementBytes;
        long to = from + numel() * elementBytes;
        List<ByteBuffer> out = new ArrayList<>();
        long chunkStart = 0;
        for (ByteBuffer chunk : whole.rawChunks()) {
            long chunkEnd = chunkStart + chunk.remaining();
            long a = Math.max(from, chunkStart);
            long b = Math.min(to, chunkEnd);
            if (a < b) {
                ByteBuffer piece = chunk.duplicate();
                int base = chunk.position();
                piece.limit(base + (int) (b - chunkStart)).position(base + (int) (a - chunkStart));
                out.add(piece.slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN));
            }
            chunkStart = chunkEnd;
        }
        return out.toArray(new ByteBuffer[0]);
    }

    @Override
    public String toString() { return name() + " " + dtype() + Arrays.toString(shape) + " of " + whole; }
}
