package io.prefill.model;

import java.nio.ByteBuffer;

/**
 * A read-only view of one tensor inside a memory-mapped safetensors file. Values are
 * converted to float on access; nothing is copied onto the heap until asked.
 */
public interface TensorView {
    String name();

    DType dtype();

    long[] shape();

    default long numel() {
        long n = 1;
        for (long s : shape()) n *= s;
        return n;
    }

    /** Element at flat index i, as float. */
    float get(long i);

    /** Row r of a 2-D tensor [rows, cols], decoded into dst[0..cols). */
    void readRow(int r, float[] dst);

    /** The whole tensor as floats (only for small tensors: norms, biases, tests). */
    float[] toFloatArray();

    /**
     * The tensor's bytes exactly as stored (little-endian, in {@link #dtype()}), as read-only
     * buffers of under 2 GB each that together cover the tensor in order. Lets a backend upload
     * weights without decoding them.
     */
    default ByteBuffer[] rawChunks() {
        throw new UnsupportedOperationException(getClass().getName() + " does not expose raw bytes");
    }
}
