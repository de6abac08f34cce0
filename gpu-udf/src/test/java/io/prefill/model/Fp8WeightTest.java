package io.prefill.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Fp8WeightTest {
    /** A weight [rows, cols] on the heap, rows of very different magnitudes. */
    private static TensorView weight(int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[] v = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            double rowScale = Math.pow(10, r.nextInt(7) - 4);
            for (int j = 0; j < cols; j++) v[i * cols + j] = (float) (r.nextGaussian() * rowScale);
        }
        return ArrayTensor.of("w", v, rows, cols);
    }

    @Test
    void eachRowIsScaledToItsOwnMaximumAndDequantisesWithinHalfAnUlp() {
        int rows = 40;
        int cols = 96;
        TensorView w = weight(rows, cols, 7);
        Fp8Weight q = Fp8Weight.quantise(w);
        assertEquals(DType.F8_E4M3, q.dtype());
        float[] row = new float[cols];
        float[] deq = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.readRow(r, row);
            q.readRow(r, deq);
            float max = 0;
            for (float v : row) max = Math.max(max, Math.abs(v));
            float scale = q.rowScale(r);
            assertEquals(max / 448f, scale, 0f, "row " + r);
            boolean exactMax = false;
            for (int c = 0; c < cols; c++) {
                double err = Math.abs(row[c] - deq[c]);
                // normal codes: half an ulp of a 3-bit mantissa; subnormal codes: half of 2^-9, times the scale
                double bound = Math.max(Math.abs(row[c]) * 0x1p-4, scale * 0x1p-10) * (1 + 1e-6);
                assertTrue(err <= bound, "row " + r + " col " + c + ": " + row[c] + " -> " + deq[c]);
                assertEquals(deq[c], q.get((long) r * cols + c), 0f);
                if (Math.abs(row[c]) == max) exactMax |= Math.abs(Math.abs(deq[c]) - max) <= max * 1e-6;
            }
            assertTrue(exactMax, "the row's largest weight maps to 448 * scale, row " + r);
        }
        float[] all = q.toFloatArray();
        q.readRow(rows - 1, deq);
        for (int c = 0; c < cols; c++) assertEquals(deq[c], all[(rows - 1) * cols + c], 0f);
    }

    @Test
    void quantisedValuesDifferFromTheOriginalButOnlyByRounding() {
        TensorView w = weight(8, 64, 3);
        Fp8Weight q = Fp8Weight.quantise(w);
        int changed = 0;
        for (long i = 0; i < w.numel(); i++) if (w.get(i) != q.get(i)) changed++;
        assertTrue(changed > w.numel() / 2, "most weights need rounding to 3 mantissa bits, " + changed + " did");
        // quantising the dequantised weight again changes nothing: it is already on the grid
        Fp8Weight again = Fp8Weight.quantise(q);
        for (long i = 0; i < w.numel(); i++) assertEquals(q.get(i), again.get(i), Math.abs(q.get(i)) * 1e-6, "element " + i);
    }

    @Test
    void aZeroRowGetsScaleOneAndStaysZero() {
        TensorView w = ArrayTensor.of("z", new float[] {0, 0, 0, 1, -2, 3}, 2, 3);
        Fp8Weight q = Fp8Weight.quantise(w);
        assertEquals(1f, q.rowScale(0));
        for (int i = 0; i < 3; i++) assertEquals(0f, q.get(i));
        assertEquals(-2f, q.get(4), 2 * 0x1p-4, "-2 is not on row 1's grid of 3/448 steps: rounded");
        assertTrue(q.get(4) != -2f);
        assertEquals(3f, q.get(5), 0f);
    }

    @Test
    void nonFiniteWeightIsRefusedNamingTheTensor() {
        TensorView w = ArrayTensor.of("model.layers.0.mlp.up_proj.weight", new float[] {1, Float.NaN, 0, 1}, 2, 2);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Fp8Weight.quantise(w));
        assertTrue(e.getMessage().contains("up_proj") && e.getMessage().contains("row 0"), e.getMessage());
    }

}
