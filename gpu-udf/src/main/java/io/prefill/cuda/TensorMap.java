package io.prefill.cuda;

import com.sun.jna.Memory;
import java.util.Arrays;
import jcuda.driver.CUresult;

/**
 * A tensor map for Hopper's TMA loads (tma.cuh's TmaDesc): the 128-byte descriptor of a 2-D
 * row-major tensor in device memory that the driver's {@code cuTensorMapEncodeTiled} writes, passed
 * to a kernel by value. The kernel copies boxes of {@code boxCols x boxRows} elements with one
 * instruction; elements outside the tensor arrive as zeros.
 *
 * <p>JCuda 12.6 has no binding for {@code cuTensorMapEncodeTiled}: it is called through
 * {@link JnaDriver}. Where that is not possible (a driver older than CUDA 12), {@link #unavailable}
 * says why and no map is made; the kernels that need one are then not picked (see
 * {@link Gemm#defaultTile}).
 *
 * @param words the descriptor's sixteen 64-bit words, as the driver wrote them
 * @param label what the map describes, for errors
 */
public record TensorMap(long[] words, String label) {
    /** Element types: the driver's CUtensorMapDataType code and the size in bytes. */
    public enum Element {
        BF16(9, 2),
        /** E4M3 codes, mapped as 8-bit unsigned integers: the copy moves bytes. */
        E4M3(0, 1);

        final int code, bytes;

        Element(int code, int bytes) {
            this.code = code;
            this.bytes = bytes;
        }
    }

    // cuda.h: CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
    // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE (zeros)
    private static final int INTERLEAVE_NONE = 0, SWIZZLE_128B = 3, L2_PROMOTION_256B = 3, OOB_FILL_ZEROS = 0;
    /** The 128-byte swizzle works on rows of at most 128 bytes. */
    static final int SWIZZLE_ROW_BYTES = 128;

    public TensorMap {
        if (words.length != 16) throw new IllegalArgumentException(label + ": a tensor map has 16 words, not " + words.length);
        words = words.clone();
    }

    @Override public long[] words() { return words.clone(); }

    /** The bytes Kernel.launch passes for a {@code const __grid_constant__ TmaDesc} parameter. */
    long[] kernelParam() { return words; }

    /**
     * The geometry of a 2-D map, checked against what cuTensorMapEncodeTiled and the 128-byte
     * swizzle require, so a wrong one fails here with every number instead of as a driver code.
     *
     * @param address the tensor's device address
     * @param bytes the bytes the buffer holds from that address
     * @param rows outer dimension
     * @param cols inner (contiguous) dimension, in elements
     * @param boxRows rows per copy (1..256)
     * @param boxCols elements per row per copy: exactly one 128-byte swizzle row
     */
    record Geometry(String label, Element element, long address, long bytes, long rows, long cols, int boxRows,
                    int boxCols) {
        Geometry {
            String what = label + " (" + element + " [" + rows + ", " + cols + "] at 0x" + Long.toHexString(address)
                    + ", box " + boxRows + " x " + boxCols + ")";
            if (rows < 1 || cols < 1 || rows > (1L << 32) || cols > (1L << 32))
                throw new IllegalArgumentException(what + ": each dimension must be 1 .. 2^32");
            if (address % 16 != 0) throw new IllegalArgumentException(what + ": the address must be 16-byte aligned");
            if (cols * element.bytes % 16 != 0)
                throw new IllegalArgumentException(what + ": a row is " + cols * element.bytes
                        + " bytes; TMA needs the row stride a multiple of 16");
            if (boxRows < 1 || boxRows > 256) throw new IllegalArgumentException(what + ": box rows must be 1 .. 256");
            if ((long) boxCols * element.bytes != SWIZZLE_ROW_BYTES)
                throw new IllegalArgumentException(what + ": a box row is " + (long) boxCols * element.bytes
                        + " bytes; the 128-byte swizzle needs exactly " + SWIZZLE_ROW_BYTES);
            if (bytes < rows * cols * element.bytes)
                throw new IllegalArgumentException(what + ": needs " + rows * cols * element.bytes + " bytes, the buffer has "
                        + bytes);
        }

        long[] globalDim() { return new long[] {cols, rows}; }

        long[] globalStrides() { return new long[] {cols * element.bytes}; }  // of dimension 1, in bytes

        int[] boxDim() { return new int[] {boxCols, boxRows}; }
    }

    /**
     * The map of {@code buffer} as a row-major [rows, cols] tensor of {@code element}, read in
     * boxes of one 128-byte row ({@code 128 / element bytes} elements) by {@code boxRows} rows,
     * stored in shared memory with the 128-byte swizzle (tma.cuh, wgmma.cuh's wg_desc).
     */
    public static TensorMap rowMajor(DeviceBuffer buffer, Element element, long rows, long cols, int boxRows) {
        Geometry g = new Geometry(buffer.label(), element, buffer.address(), buffer.bytes(), rows, cols, boxRows,
                SWIZZLE_ROW_BYTES / element.bytes);
        String why = unavailable();
        if (why != null) throw new IllegalStateException(g.label() + ": no tensor map: " + why);
        try (Memory m = new Memory(128 + 64)) {
            Memory aligned = m.align(64);  // CUtensorMap is 64-byte aligned
            int rc = JnaDriver.functions().cuTensorMapEncodeTiled(aligned, g.element().code, 2,
                    new com.sun.jna.Pointer(g.address()), g.globalDim(), g.globalStrides(), g.boxDim(), new int[] {1, 1},
                    INTERLEAVE_NONE, SWIZZLE_128B, L2_PROMOTION_256B, OOB_FILL_ZEROS);
            if (rc != CUresult.CUDA_SUCCESS)
                throw new CudaException("cuTensorMapEncodeTiled for " + g.label() + " (" + element + " [" + rows + ", "
                        + cols + "], box " + boxRows + " x " + g.boxCols() + ", dims " + Arrays.toString(g.globalDim())
                        + ", strides " + Arrays.toString(g.globalStrides()) + "): " + CUresult.stringFor(rc));
            return new TensorMap(aligned.getLongArray(0, 16), g.label());
        }
    }

    /** Why tensor maps cannot be made in this process (no driver library, or one without the function), or null. */
    public static String unavailable() { return JnaDriver.unavailable(); }
}
