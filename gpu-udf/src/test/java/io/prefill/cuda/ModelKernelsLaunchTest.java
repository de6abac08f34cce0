package io.prefill.cuda;

import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.ModelKernels.Launch;
import io.prefill.cuda.ModelKernels.Rotary;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

/**
 * The launches of rope_split_k, heads_to_rows_k and the fused FP8 row kernels without a GPU: argument checks of the padded
 * layout (head stride, Q factor) and argument lists that match the kernels' parameters in
 * model_ops.cuh, one by one (a wrong list would crash the GPU process, not fail a check).
 */
class ModelKernelsLaunchTest {
    private static final int MAX_BLOCKS = 1056;

    private static DeviceBuffer fake(long bytes, String label) { return new DeviceBuffer(new CUdeviceptr(), 0, bytes, label); }

    private static Launch rope(int rows, int n, int heads, int kvHeads, int d, int stride, float qScale, long qBytes,
                               boolean bias) {
        int slots = heads + 2 * kvHeads;
        DeviceBuffer qkv = fake(4L * rows * slots * d, "qkv"), inv = fake(8L * d / 2, "inv");
        DeviceBuffer b = bias ? fake(4L * slots * d, "bias") : null;
        long kv = 2L * kvHeads * n * stride;
        return ModelKernels.ropeSplitLaunch(MAX_BLOCKS, qkv, b, inv, Rotary.rotateHalf(d), rows, 0, n, heads, kvHeads, d,
                stride, qScale, fake(qBytes, "q"), fake(kv, "k"), fake(kv, "v"));
    }

    @Test
    void ropeSplitTakesAPaddedStrideAndAQFactor() {
        // Phi-3-mini's head: 96 wide, stored at 128, Q times sqrt(128/96)
        float f = (float) Math.sqrt(128.0 / 96);
        Launch l = rope(5, 10, 4, 2, 96, 128, f, 2L * 4 * 10 * 128, true);
        Object[] a = l.args();
        assertEquals("rope_split_k", l.kernel());
        assertEquals(17, a.length);
        assertEquals(96, a[8], "d");
        assertEquals(128, a[9], "dPad");
        assertEquals(48, a[10], "pairs");
        assertEquals(0, a[11], "rotate_half");
        assertEquals(1f, a[12], "rotary scale");
        assertEquals(f, a[13], "qScale");
        assertEquals(1L * 5 * 6 / 256 + 1, l.grid().x(), "one thread per (row, 16 elements of the model's head)");
        // unpadded: stride d, factor 1
        Launch plain = rope(5, 10, 4, 2, 128, 128, 1f, 2L * 4 * 10 * 128, false);
        assertEquals(128, plain.args()[8]);
        assertEquals(128, plain.args()[9]);
        assertEquals(1f, plain.args()[13]);
        assertEquals(0L, plain.args()[1], "no bias: a null pointer");
    }

    @Test
    void ropeSplitRejectsABadStrideOrFactorOrTooSmallBuffers() {
        long q = 2L * 4 * 10 * 128;
        assertThrows(IllegalArgumentException.class, () -> rope(5, 10, 4, 2, 96, 64, 1f, q, false), "stride < d");
        assertThrows(IllegalArgumentException.class, () -> rope(5, 10, 4, 2, 96, 100, 1f, q, false), "stride % 8");
        assertThrows(IllegalArgumentException.class, () -> rope(5, 10, 4, 2, 96, 128, 0f, q, false), "qScale 0");
        assertThrows(IllegalArgumentException.class, () -> rope(5, 10, 4, 2, 96, 128, -1f, q, false), "qScale < 0");
        assertThrows(IllegalArgumentException.class, () -> rope(5, 10, 4, 2, 96, 128, Float.NaN, q, false), "NaN");
        assertThrows(IllegalArgumentException.class,
                () -> rope(5, 10, 4, 2, 96, 128, Float.POSITIVE_INFINITY, q, false), "infinite qScale");
        assertThrows(IllegalArgumentException.class, () -> rope(5, 10, 4, 2, 88, 128, 1f, q, false), "d % 16");
        // Q sized for the model's width, not the stride
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> rope(5, 10, 4, 2, 96, 128, 1f, 2L * 4 * 10 * 96, false));
        assertTrue(e.getMessage().contains("q (q)") && e.getMessage().contains("needs " + 2L * 4 * 10 * 128), e.getMessage());
        assertDoesNotThrow(() -> rope(5, 10, 4, 2, 96, 128, 1f, q, false));
    }

    @Test
    void headsToRowsReadsAStrideAndWritesTheModelsWidth() {
        int heads = 3, n = 20, rows = 7;
        Launch l = ModelKernels.headsToRowsLaunch(MAX_BLOCKS, fake(2L * heads * n * 128, "o"), heads, n, 96, 128, 2, rows,
                fake(2L * rows * heads * 96, "out"));
        assertEquals("heads_to_rows_k", l.kernel());
        assertEquals(8, l.args().length);
        assertEquals(96, l.args()[3]);
        assertEquals(128, l.args()[4]);
        assertEquals(2, l.args()[5]);
        assertEquals(rows, l.args()[6]);
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.headsToRowsLaunch(MAX_BLOCKS,
                fake(2L * heads * n * 128, "o"), heads, n, 96, 64, 2, rows, fake(2L * rows * heads * 96, "out")), "stride < d");
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.headsToRowsLaunch(MAX_BLOCKS,
                fake(2L * heads * n * 128, "o"), heads, n, 96, 124, 2, rows, fake(2L * rows * heads * 96, "out")), "stride % 8");
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.headsToRowsLaunch(MAX_BLOCKS,
                fake(2L * heads * n * 96, "o"), heads, n, 96, 128, 2, rows, fake(2L * rows * heads * 96, "out")), "o size");
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.headsToRowsLaunch(MAX_BLOCKS,
                fake(2L * heads * n * 128, "o"), heads, n, 96, 128, 2, rows, fake(2L * rows * heads * 96 - 2, "out")),
                "out size");
    }

    @Test
    void theFusedFp8RowKernelsCheckTheirRowsAndCodes() {
        int rows = 7, dim = 1040;
        Launch rms = ModelKernels.rmsNormE4m3Launch(MAX_BLOCKS, fake(4L * rows * dim, "x"), fake(4L * dim, "w"), rows, dim,
                1e-5f, fake((long) rows * dim, "q"), fake(4L * rows, "scale"));
        assertEquals("rmsnorm_e4m3_k", rms.kernel());
        assertEquals(rows, rms.grid().x(), "a block per row");
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.rmsNormE4m3Launch(MAX_BLOCKS, fake(4L * rows * 40, "x"),
                fake(4L * 40, "w"), rows, 40, 1e-5f, fake(rows * 40L, "q"), fake(4L * rows, "scale")), "dim % 16");
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class, () -> ModelKernels.rmsNormE4m3Launch(
                MAX_BLOCKS, fake(4L * rows * dim, "x"), fake(4L * dim, "w"), rows, dim, 1e-5f, fake((long) rows * dim - 1, "q"),
                fake(4L * rows, "scale")));
        assertTrue(small.getMessage().contains("q (q)") && small.getMessage().contains("needs " + rows * dim), small.getMessage());

        int heads = 3, n = 20;
        Launch hr = ModelKernels.headsToRowsE4m3Launch(MAX_BLOCKS, fake(2L * heads * n * 128, "o"), heads, n, 96, 128, 2, rows,
                fake((long) rows * heads * 96, "q"), fake(4L * rows, "scale"));
        assertEquals("heads_to_rows_e4m3_k", hr.kernel());
        assertEquals(128, hr.args()[4], "head stride");
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.headsToRowsE4m3Launch(MAX_BLOCKS,
                fake(2L * heads * n * 128, "o"), heads, n, 96, 128, 15, rows, fake((long) rows * heads * 96, "q"),
                fake(4L * rows, "scale")), "rows past n");
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.headsToRowsE4m3Launch(MAX_BLOCKS,
                fake(2L * 1 * n * 8, "o"), 1, n, 8, 8, 0, rows, fake(rows * 8L, "q"), fake(4L * rows, "scale")),
                "a row of 8 codes is not a 16-byte unit");
        assertThrows(IllegalArgumentException.class, () -> ModelKernels.headsToRowsE4m3Launch(MAX_BLOCKS,
                fake(2L * heads * n * 128, "o"), heads, n, 96, 128, 2, rows, fake((long) rows * heads * 96, "q"),
                fake(4L * rows - 4, "scale")), "scale size");
    }

    @Test
    void argumentListsMatchTheKernelSignatures() {
        assertMatches(rope(5, 10, 4, 2, 96, 128, 1.1f, 2L * 4 * 10 * 128, true));
        assertMatches(rope(5, 10, 4, 2, 64, 64, 1f, 2L * 4 * 10 * 64, false));
        assertMatches(ModelKernels.headsToRowsLaunch(MAX_BLOCKS, fake(2L * 2 * 9 * 128, "o"), 2, 9, 80, 128, 0, 9,
                fake(2L * 9 * 2 * 80, "out")));
        assertMatches(ModelKernels.rmsNormE4m3Launch(MAX_BLOCKS, fake(4L * 3 * 64, "x"), fake(4L * 64, "w"), 3, 64, 1e-6f,
                fake(3L * 64, "q"), fake(4L * 3, "scale")));
        assertMatches(ModelKernels.headsToRowsE4m3Launch(MAX_BLOCKS, fake(2L * 2 * 9 * 128, "o"), 2, 9, 80, 128, 0, 9,
                fake(9L * 2 * 80, "q"), fake(4L * 9, "scale")));
    }

    /** The launch's arguments against the kernel's parameters in model_ops.cuh ({@link KernelSignatures}). */
    private static void assertMatches(Launch l) {
        KernelSignatures.assertArgumentsFit(l.kernel(), l.args());
    }
}
