package io.prefill.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * A projection weight [out, in] held as FP8 E4M3 codes with one float scale per output row:
 * element (r, c) is {@code toFloat(code[r][c]) * scale[r]}. These are exactly the values an FP8
 * GEMM with a per-output-channel fp32 epilogue multiplies by: the tensor cores take the codes and
 * the epilogue applies the row's scale. Reads dequantise, so the cpu backend computes with them
 * unchanged.
 */
public final class Fp8Weight implements TensorView {
    private final String name;
    private final TensorView codes;
    private final float[] rowScales;
    private final int cols;

    private Fp8Weight(String name, TensorView codes, float[] rowScales) {
        long[] shape = codes.shape();
        if (codes.dtype() != DType.F8_E4M3 || shape.length != 2 || shape[0] != rowScales.length) {
            throw new IllegalArgumentException(name + ": FP8 codes of " + codes.dtype() + Arrays.toString(shape)
                    + " with " + rowScales.length + " row scales");
        }
        this.name = name;
        this.codes = codes;
        this.rowScales = rowScales;
        this.cols = Math.toIntExact(shape[1]);
    }

    /** Codes as stored (an F8_E4M3 tensor [out, in]) with their row scales. */
    static Fp8Weight of(TensorView codes, float[] rowScales) {
        return new Fp8Weight(codes.name(), codes, rowScales.clone());
    }

    /**
     * Quantises a bf16/f16/f32 weight [out, in]: each row's scale is max|w_row| / 448, so the
     * row's largest weight maps to E4M3's largest value, and every weight rounds to the nearest
     * code (ties to even). A row of zeros gets scale 1.
     *
     * @throws ModelFormatException on a non-finite weight, naming the tensor
     */
    public static Fp8Weight quantise(TensorView w) {
        long[] shape = w.shape();
        if (shape.length != 2) throw new IllegalArgumentException(w.name() + ": FP8 weights are 2-D, shape is " + Arrays.toString(shape));
        int rows = Math.toIntExact(shape[0]);
        int cols = Math.toIntExact(shape[1]);
        byte[] codes = new byte[Math.multiplyExact(rows, cols)];
        float[] scales = new float[rows];
        IntStream.range(0, rows).parallel().forEach(r -> {
            float[] row = new float[cols];
            w.readRow(r, row);
            float max = 0;
            for (float v : row) max = Math.max(max, Math.abs(v));
            if (!Float.isFinite(max)) {
                throw new ModelFormatException(w + ": row " + r + " holds NaN or infinity; it cannot be quantised to FP8");
            }
            float scale = max > 0 ? max / Fp8E4M3.MAX : 1f;
            scales[r] = scale;
            int at = r * cols;
            for (int c = 0; c < cols; c++) codes[at + c] = Fp8E4M3.fromFloat(row[c] / scale);
        });
        return new Fp8Weight(w.name(), new HeapCodes(w.name(), rows, cols, codes), scales);
    }

    /** Rows [first, first + count) with their scales: one projection of a fused FP8 tensor. */
    Fp8Weight rows(long first, long count) {
        TensorView part = TensorRows.of(codes, first, count);
        return new Fp8Weight(part.name(), part, Arrays.copyOfRange(rowScales, (int) first, (int) (first + count)));
    }

    /** The scale of output row r. */
    public float rowScale(int r) { return rowScales[r]; }

    /** All row scales, a copy. */
    public float[] rowScales() { return rowScales.clone(); }

    /** The E4M3 codes, read unscaled (what the tensor cores multiply). */
    public TensorView codes() { return codes; }

    @Override public String name() { return name; }

    @Override public DType dtype() { return DType.F8_E4M3; }

    @Override public long[] shape() { return codes.shape(); }

    @Override public long numel() { return codes.numel(); }

    @Override
    public float get(long i) {
        return codes.get(i) * rowScales[(int) (i / cols)];
    }

    @Override
    public void readRow(int r, float[] dst) {
        codes.readRow(r, dst);
        float scale = rowScales[r];
        for (int c = 0; c < cols; c++) dst[c] *= scale;
    }

    @Override
    public float[] toFloatArray() {
        float[] out = codes.toFloatArray();
        for (int i = 0; i < out.length; i++) out[i] *= rowScales[i / cols];
        return out;
    }

    /** The codes' bytes, one per element; the scales are {@link #rowScale}. */
    @Override
    public ByteBuffer[] rawChunks() { return codes.rawChunks(); }

    @Override
    public String toString() { return name + " FP8 E4M3 " + Arrays.toString(shape()) + " with row scales"; }

    /** Codes quantised at load, on the heap. */
    private record HeapCodes(String name, int rows, int cols, byte[] codes) implements TensorView {
        @Override public DType dtype() { return DType.F8_E4M3; }

        @Override public long[] shape() { return new long[] {rows, cols}; }

        @Override public long numel() { return codes.length; }

        @Override public float get(long i) { return Fp8E4M3.toFloat(codes[Math.toIntExact(i)]); }

        @Override
        public void readRow(int r, float[] dst) {
            if (r < 0 || r >= rows) throw new IndexOutOfBoundsException(name + ": row " + r + " outside [0, " + rows + ")");
            int at = r * cols;
            for (int c = 0; c < cols; c++) dst[c] = Fp8E4M3.toFloat(codes[at + c]);
        }

        @Override
        public float[] toFloatArray() {
            float[] out = new float[codes.length];
            for (int i = 0; i < out.length; i++) out[i] = Fp8E4M3.toFloat(codes[i]);
            return out;
        }

        @Override
        public ByteBuffer[] rawChunks() {
            return new ByteBuffer[] {ByteBuffer.wrap(codes).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN)};
        }
    }
}
