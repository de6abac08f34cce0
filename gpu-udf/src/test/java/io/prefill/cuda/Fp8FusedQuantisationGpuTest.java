package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fused FP8 row kernels (fp8.cuh) against the two launches they replace, bit for bit:
 * rmsnorm_e4m3_k = rmsnorm_bf16_k then quantize_rows_e4m3_k, and heads_to_rows_e4m3_k =
 * heads_to_rows_k then quantize_rows_e4m3_k; codes and scales. Widths on both sides of the
 * RMSNorm's one-warp limit (ModelKernels.RMS_WARP_DIM: a different sum order), rows that a
 * grid-stride block takes more than one of, a zero row (scale 1), rows of very different
 * magnitude, padded heads and an offset first row.
 */
@Tag("gpu")
class Fp8FusedQuantisationGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "rows={0} dim={1}")
    @CsvSource({"1,64", "7,1024", "300,1040", "37,4096", "5000,5120"})
    void rmsNormCodesAreTheUnfusedOnes(int rows, int dim) {
        Random rnd = new Random(31L * rows + dim);
        float[] x = new float[rows * dim], w = new float[dim];
        for (int r = 0; r < rows; r++) {
            double scale = r == 2 ? 0 : Math.pow(10, rnd.nextInt(7) - 3);  // row 2 (when there is one) all zero
            for (int c = 0; c < dim; c++) x[r * dim + c] = (float) (rnd.nextGaussian() * scale);
        }
        for (int c = 0; c < dim; c++) w[c] = (float) (1 + 0.5 * rnd.nextGaussian());
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer dx = arena.alloc(4L * rows * dim, "x"), dw = arena.alloc(4L * dim, "weight");
            dx.upload(stream(), x);
            dw.upload(stream(), w);
            ModelKernels ops = new ModelKernels(module(), stream());
            DeviceBuffer normed = arena.alloc(2L * rows * dim, "normed");
            Codes want = codes(arena, rows, dim), got = codes(arena, rows, dim);
            ops.rmsNormBf16(dx, dw, rows, dim, 1e-5f, normed);
            ops.quantizeRowsE4m3(normed, rows, dim, want.q, want.scale);
            ops.rmsNormE4m3(dx, dw, rows, dim, 1e-5f, got.q, got.scale);
            assertSame(want, got, rows, dim, "rmsNormE4m3 rows=" + rows + " dim=" + dim);
        } finally {
            arena.reset(mark);
        }
    }

    @ParameterizedTest(name = "heads={0} n={1} d={2} stride={3} row0={4} rows={5}")
    @CsvSource({"4,300,64,64,0,300", "8,1000,128,128,17,600", "4,50,96,128,3,40", "2,33,80,128,32,1"})
    void headRowCodesAreTheUnfusedOnes(int heads, int n, int d, int stride, int row0, int rows) {
        Random rnd = new Random(7L * n + d + heads);
        float[] o = randomBf16(rnd, (long) heads * n * stride, 1.0);
        for (int h = 0; h < heads; h++)  // rows of very different magnitude
            for (int i = 0; i < n; i++) {
                float s = (float) Math.pow(10, (i % 5) - 2);
                for (int e = 0; e < stride; e++) o[(h * n + i) * stride + e] = Bf16.round(o[(h * n + i) * stride + e] * s);
            }
        int cols = heads * d;
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer dout = upload(o, "o");
            ModelKernels ops = new ModelKernels(module(), stream());
            DeviceBuffer rowsBf16 = arena.alloc(2L * rows * cols, "rows");
            Codes want = codes(arena, rows, cols), got = codes(arena, rows, cols);
            ops.headsToRows(dout, heads, n, d, stride, row0, rows, rowsBf16);
            ops.quantizeRowsE4m3(rowsBf16, rows, cols, want.q, want.scale);
            ops.headsToRowsE4m3(dout, heads, n, d, stride, row0, rows, got.q, got.scale);
            assertSame(want, got, rows, cols, "headsToRowsE4m3 heads=" + heads + " d=" + d + " row0=" + row0);
        } finally {
            arena.reset(mark);
        }
    }

    private record Codes(DeviceBuffer q, DeviceBuffer scale) { }

    /** Code and scale buffers filled with a pattern no kernel writes (NaN codes and scales). */
    private static Codes codes(DeviceArena arena, int rows, int cols) {
        Codes c = new Codes(arena.alloc((long) rows * cols, "codes"), arena.alloc(4L * rows, "scales"));
        c.q().fill32(stream(), 0x7F7F7F7F);
        c.scale().fill32(stream(), 0x7FC00000);
        return c;
    }

    private static void assertSame(Codes want, Codes got, int rows, int cols, String what) {
        byte[] wq = new byte[rows * cols], gq = new byte[rows * cols];
        int[] ws = new int[rows], gs = new int[rows];
        want.q().download(stream(), wq);
        got.q().download(stream(), gq);
        want.scale().download(stream(), ws);
        got.scale().download(stream(), gs);
        for (int r = 0; r < rows; r++) {
            final int row = r;
            assertEquals(ws[r], gs[r], () -> what + ": row " + row + " scale " + Float.intBitsToFloat(ws[row]) + " vs "
                    + Float.intBitsToFloat(gs[row]));
            for (int c = 0; c < cols; c++) {
                final int col = c;
                assertEquals(wq[r * cols + c], gq[r * cols + c], () -> what + ": row " + row + " column " + col + " code");
            }
        }
    }
}
