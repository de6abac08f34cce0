package io.prefill.cpu;

import io.prefill.model.TensorView;

import java.util.stream.IntStream;

/** y = x W^T (+ b) for a PyTorch-layout weight [out, in] read straight from the mapped checkpoint. */
final class Linear {
    private Linear() { }

    /**
     * @param x   [n, in] row-major activations
     * @param w   weight [out, in]
     * @param b   bias [out] or null
     * @return    [n, out] row-major
     */
    static float[] apply(float[] x, int n, TensorView w, TensorView b) {
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
