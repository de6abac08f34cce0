package io.prefill.cpu;

import static org.junit.jupiter.api.Assertions.*;

import io.prefill.model.FloatCodecs;
import io.prefill.model.Fp8E4M3;
import io.prefill.model.Fp8Weight;
import io.prefill.model.TensorView;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The cpu backend's FP8 projection: E4M3 activations per row (from bf16) times E4M3 weights, both scales after the sum. */
class LinearFp8Test {
    private static TensorView matrix(String name, float[] v, int rows, int cols) {
        return new TensorView() {
            @Override public String name() { return name; }
            @Override public io.prefill.model.DType dtype() { return io.prefill.model.DType.F32; }
            @Override public long[] shape() { return new long[] {rows, cols}; }
            @Override public long numel() { return v.length; }
            @Override public float get(long i) { return v[(int) i]; }
            @Override public void readRow(int r, float[] dst) { System.arraycopy(v, r * cols, dst, 0, cols); }
            @Override public float[] toFloatArray() { return v.clone(); }
            @Override public java.nio.ByteBuffer[] rawChunks() { throw new UnsupportedOperationException(); }
        };
    }

    @Test
    void activationsAreQuantisedPerRowAndTheScalesApplyAfterTheSum() {
        int n = 4, in = 48, out = 8;
        Random rnd = new Random(5);
        float[] x = new float[n * in], w = new float[out * in], b = new float[out];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * (1 + i / in * 10);
        for (int i = 0; i < in; i++) x[2 * in + i] = 0f;  // a zero row
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.05f;
        for (int i = 0; i < out; i++) b[i] = i;
        Fp8Weight fw = Fp8Weight.quantise(matrix("w", w, out, in));
        float[] y = Linear.apply(x, n, fw, matrix("b", b, 1, out));

        float[] dequantised = Linear.apply(x, n, matrix("w dequantised", fw.toFloatArray(), out, in), matrix("b", b, 1, out));
        double differs = 0;
        for (int t = 0; t < n; t++) {
            float max = 0;
            float[] row = new float[in];
            for (int c = 0; c < in; c++) {
                row[c] = FloatCodecs.bf16ToFloat(FloatCodecs.floatToBf16(x[t * in + c]));
                max = Math.max(max, Math.abs(row[c]));
            }
            float s = max > 0 ? max / Fp8E4M3.MAX : 1f;
            for (int j = 0; j < out; j++) {
                float[] codes = new float[in];
                fw.codes().readRow(j, codes);
                double sum = 0;
                for (int c = 0; c < in; c++) sum += Fp8E4M3.toFloat(Fp8E4M3.fromFloat(row[c] / s)) * (double) codes[c];
                double expect = sum * s * fw.rowScale(j) + b[j];
                assertEquals(expect, y[t * out + j], 1e-5 * (1 + Math.abs(expect)), "token " + t + " output " + j);
                differs = Math.max(differs, Math.abs(y[t * out + j] - dequantised[t * out + j]));
            }
        }
        for (int j = 0; j < out; j++) assertEquals(b[j], y[2 * out + j], 0f, "a zero row gives the bias");
        assertTrue(differs > 1e-4, "the activations were not quantised: the result equals the weight-only product");
    }
}
