package io.prefill.cpu;

import io.prefill.model.FloatCodecs;
import io.prefill.model.Fp8E4M3;
import io.prefill.model.Fp8Weight;
import io.prefill.model.TensorView;

import java.util.stream.IntStream;

/**
 * y = x W^T (+ b) for a PyTorch-layout weight [out, in] read straight from the mapped checkpoint.
 * An FP8 weight ({@link Fp8Weight}) is applied as FP8 inference applies it on the tensor cores:
 * each row of x, as the bf16 activation a GPU holds, is quantised to E4M3 with its own scale
 * (max|x_row| / 448), the codes are multiplied and summed, and the sum is scaled by the row's and
 * the output channel's scales.
 */
final class Linear {
    private Linear() { }

    /**
     * @param x   [n, in] row-major activations
     * @param w   weight [out, in]
     * @param b   bias [out] or null
     * @return    [n, out] row-major
     */
    static float[] apply(float[] x, int n, TensorView w, TensorView b) {
        if (w instanceof Fp8Weight f) return applyFp8(x, n, f, b);
        int out = (int) w.shape()[0];
        int in = (int) w.shape()[1];
        float[] bias = b == null ? null : b.toFloatArray();
        float[] y = new float[n * out];
        // Parallel over output features: each weight row is decoded from bf16 once and reused by
        // every token, so the mapped checkpoint is read exactly once per call.
        IntStream.range(0, out).parallel().forEach(j -> {
            float[] row = new float[in];
            w.readRow(j, row);
            float bj = bias == null ? 0f : bias[j];
            for (int t = 0; t < n; t++) {
                y[t * out + j] = dot(x, t * in, row, in) + bj;
            }
        });
        return y;
    }

    private static float[] applyFp8(float[] x, int n, Fp8Weight w, TensorView b) {
        int out = (int) w.shape()[0];
        int in = (int) w.shape()[1];
        float[] rowScales = new float[n];
        float[] codes = quantiseRows(x, n, in, rowScales);
        float[] bias = b == null ? null : b.toFloatArray();
        float[] y = new float[n * out];
        IntStream.range(0, out).parallel().forEach(j -> {
            float[] row = new float[in];
            w.codes().readRow(j, row);
            float sw = w.rowScale(j);
            float bj = bias == null ? 0f : bias[j];
            for (int t = 0; t < n; t++) {
                y[t * out + j] = dot(codes, t * in, row, in) * (rowScales[t] * sw) + bj;
            }
        });
        return y;
    }

    /**
     * The E4M3 values (decoded, unscaled) of each row of x [n, in] rounded to bf16 first, and the
     * row's scale max|bf16(x_row)| / 448 (1 for a zero row) into scales[t]: bf16(x[t, c]) / scale
     * rounded to the nearest code (ties to even), saturating. The cuda backend's
     * quantize_rows_e4m3 makes the same codes from the same bf16 row.
     */
    static float[] quantiseRows(float[] x, int n, int in, float[] scales) {
        float[] q = new float[n * in];
        IntStream.range(0, n).parallel().forEach(t -> {
            float[] row = new float[in];
            float max = 0;
            for (int c = 0; c < in; c++) {
                row[c] = FloatCodecs.bf16ToFloat(FloatCodecs.floatToBf16(x[t * in + c]));
                max = Math.max(max, Math.abs(row[c]));
            }
            float s = max > 0 ? max / Fp8E4M3.MAX : 1f;
            scales[t] = s;
            for (int c = 0; c < in; c++) q[t * in + c] = Fp8E4M3.toFloat(Fp8E4M3.fromFloat(row[c] / s));
        });
        return q;
    }

    static float dot(float[] a, int aOff, float[] b, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < len; i += 4) {
            s0 += a[aOff + i] * b[i];
            s1 += a[aOff + i + 1] * b[i + 1];
            s2 += a[aOff + i + 2] * b[i + 2];
            s3 += a[aOff + i + 3] * b[i + 3];
        }
        for (; i < len; i++) s0 += a[aOff + i] * b[i];
        return (s0 + s1) + (s2 + s3);
    }
}
