package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.model.Fp8E4M3;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The FP8 projection path on the device: quantize_rows_e4m3 against {@link Fp8E4M3} (the same
 * codes, bit for bit), and gemm_fp8_wgmma_* against a float64 sum of the decoded products. Off
 * Hopper, the FP8 GEMM must refuse, naming the device.
 *
 * <p>Bounds. The products of two E4M3 values are exact in fp32, but Hopper's FP8 tensor cores do
 * not keep fp32's precision while they sum them (products are aligned to the largest and cut to
 * about 13 bits within each instruction and its accumulation): on an H200 the fp32 outputs' L2
 * error relative to the reference grows from 1.2e-4 at k = 16 to 9e-4 at k = 1376 and the worst
 * element (relative to rms + |ref|) reaches 5e-3; bf16 output adds its rounding (L2 2.8e-3 and worst
 * 1e-2 at k = 8192). The bounds, 1e-2 in L2 and 3e-2 worst, keep a margin over that; one wrong
 * 16-element k chunk of 400, a wrong row or a wrong scale costs at least 5e-2 in L2.
 */
class Fp8GemmGpuTest {
    static final double REL = 1e-2, WORST = 3e-2;

    /** A random E4M3 code of magnitude up to 3.75 (exponent field 0..9), never NaN. */
    static byte code(Random rnd) {
        return (byte) ((rnd.nextBoolean() ? 0x80 : 0) | rnd.nextInt(10) << 3 | rnd.nextInt(8));
    }

    private static void assumeFp8() {
        assumeGpu();
        Assumptions.assumeTrue(Gemm.fp8Supported(module(), stream()), () -> Gemm.fp8Unsupported(module(), stream()));
    }

    @Tag("gpu")
    @Test
    void quantisedRowsAreTheCpuCodes() {
        assumeGpu();
        int rows = 37, cols = 1376;
        Random rnd = new Random(17);
        float[] x = randomBf16(rnd, (long) rows * cols, 1.0);
        for (int c = 0; c < cols; c++) x[3 * cols + c] = 0f;               // a zero row: scale 1, all codes 0
        for (int c = 0; c < cols; c++) x[5 * cols + c] = Bf16.round(x[5 * cols + c] * 1e4f);   // large values
        for (int c = 0; c < cols; c++) x[6 * cols + c] = Bf16.round(x[6 * cols + c] * 1e-6f);  // a tiny scale
        x[7 * cols + 11] = -300f;                // one dominant element
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            // at offset 0 the kernel takes its 16-byte path, at +2 bytes its scalar path
            for (int offset : new int[] {0, 2}) {
                DeviceBuffer raw = arena.alloc(2L * rows * cols + 16, "x");
                DeviceBuffer dx = raw.slice(offset, 2L * rows * cols, "x rows");
                dx.upload(stream(), Bf16.fromFloats(x));
                DeviceBuffer q = arena.alloc((long) rows * cols, "codes"), s = arena.alloc(4L * rows, "scales");
                q.fill32(stream(), 0x7F7F7F7F);  // NaN codes: a code not written shows
                new ModelKernels(module(), stream()).quantizeRowsE4m3(dx, rows, cols, q, s);
                byte[] codes = new byte[rows * cols];
                float[] scales = new float[rows];
                q.download(stream(), codes);
                s.download(stream(), scales);
                for (int r = 0; r < rows; r++) {
                    float max = 0;
                    for (int c = 0; c < cols; c++) max = Math.max(max, Math.abs(x[r * cols + c]));
                    float scale = max > 0 ? max / Fp8E4M3.MAX : 1f;
                    assertEquals(Float.floatToRawIntBits(scale), Float.floatToRawIntBits(scales[r]),
                            "offset " + offset + " row " + r + " scale");
                    for (int c = 0; c < cols; c++) {
                        byte want = Fp8E4M3.fromFloat(x[r * cols + c] / scale);
                        final int rr = r, cc = c;
                        assertEquals(want, codes[r * cols + c], () -> String.format(Locale.ROOT,
                                "offset %d row %d col %d: x=%g scale=%g", offset, rr, cc, x[rr * cols + cc], scales[rr]));
                    }
                }
                assertEquals(Fp8E4M3.fromFloat(-448f), codes[7 * cols + 11], "the row's largest element maps to -448");
            }
        } finally {
            arena.reset(mark);
        }
    }

    @Tag("gpu")
    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({"1,8,16", "3,24,144", "129,264,400", "300,1376,1376", "257,520,208", "2181,40,80", "65,24,1040",
            "130,264,8192", "4100,1096,144"})
    void matchesTheDecodedProducts(int m, int n, int k) {
        assumeFp8();
        Random rnd = new Random(31L * m + 7L * n + k);
        byte[] a = new byte[m * k], w = new byte[n * k];
        for (int i = 0; i < a.length; i++) a[i] = code(rnd);
        for (int i = 0; i < w.length; i++) w[i] = code(rnd);
        float[] as = new float[m], ws = new float[n], bias = new float[n];
        for (int i = 0; i < m; i++) as[i] = 0.25f + rnd.nextFloat();
        for (int j = 0; j < n; j++) ws[j] = 0.25f + rnd.nextFloat();
        for (int j = 0; j < n; j++) bias[j] = (float) (rnd.nextGaussian() * Math.sqrt(k));
        double[] ref = new double[m * n];
        float[] ad = new float[a.length], wd = new float[w.length];
        for (int i = 0; i < a.length; i++) ad[i] = Fp8E4M3.toFloat(a[i]);
        for (int i = 0; i < w.length; i++) wd[i] = Fp8E4M3.toFloat(w[i]);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int x = 0; x < k; x++) acc += (double) ad[i * k + x] * wd[j * k + x];
                ref[i * n + j] = acc * as[i] * ws[j];
            }
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer da = arena.alloc(a.length, "a8"), dw = arena.alloc(w.length, "w8");
            da.upload(stream(), a);
            dw.upload(stream(), w);
            DeviceBuffer das = arena.alloc(4L * m, "aScale"), dws = arena.alloc(4L * n, "wScale"), db = arena.alloc(4L * n, "bias");
            das.upload(stream(), as);
            dws.upload(stream(), ws);
            db.upload(stream(), bias);
            List<Gemm.Tile> tiles = new ArrayList<>(List.of(Gemm.Tile.WGMMA_128x256));
            if (GemmGpuTest.tmaRuns()) tiles.add(Gemm.Tile.TMA_128x256);
            for (Gemm.Tile tile : tiles)
            for (Gemm.Output out : GemmGpuTest.GENERAL_OUTPUTS) {
                Gemm gemm = new Gemm(module(), stream()).use(tile);
                for (boolean withBias : new boolean[] {false, true}) {
                    long m2 = arena.mark();
                    String what = String.format(Locale.ROOT, "fp8 %s m=%d n=%d k=%d %s bias=%b", tile, m, n, k, out, withBias);
                    GemmGpuTest.Target t = GemmGpuTest.target(arena, out, ref, withBias ? bias : null, m, n, k, rnd);
                    DeviceBuffer c = t.c();
                    double[] expect = t.expect();
                    gemm.runFp8(da, das, dw, dws, c, m, n, k, out, withBias ? db : null);
                    float[] got = GemmGpuTest.download(c, out, m * n);
                    GemmGpuTest.assertClose(expect, got, REL, WORST, what);
                    arena.reset(m2);
                }
            }
        } finally {
            arena.reset(mark);
        }
    }

    /** The FP8 fused SwiGLU against the FP8 BF16 product of the stacked weight and swiglu_k: the same bits. */
    @Tag("gpu")
    @Test
    void fusedSwigluIsTheProductThenSwigluBitForBit() {
        assumeFp8();
        Assumptions.assumeTrue(GemmGpuTest.tmaRuns(), "the fused SwiGLU needs the persistent TMA kernel");
        int m = 300, inter = 384, k = 144, n = 2 * inter;
        Random rnd = new Random(5);
        byte[] a = new byte[m * k], stacked = new byte[n * k], interleaved = new byte[n * k];
        for (int i = 0; i < a.length; i++) a[i] = code(rnd);
        for (int i = 0; i < stacked.length; i++) stacked[i] = code(rnd);
        float[] as = new float[m], ws = new float[n], wsInterleaved = new float[n];
        for (int i = 0; i < m; i++) as[i] = 0.01f + 0.02f * rnd.nextFloat();
        for (int j = 0; j < n; j++) ws[j] = 0.01f + 0.02f * rnd.nextFloat();
        GemmGpuTest.interleaveGateUpRows(stacked, interleaved, k, inter);
        GemmGpuTest.interleaveGateUpRows(ws, wsInterleaved, 1, inter);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer da = arena.alloc(a.length, "a8"), dws = arena.alloc(stacked.length, "stacked"),
                    dwi = arena.alloc(interleaved.length, "interleaved");
            da.upload(stream(), a);
            dws.upload(stream(), stacked);
            dwi.upload(stream(), interleaved);
            DeviceBuffer das = arena.alloc(4L * m, "aScale"), dss = arena.alloc(4L * n, "wScale"),
                    dsi = arena.alloc(4L * n, "wScale interleaved");
            das.upload(stream(), as);
            dss.upload(stream(), ws);
            dsi.upload(stream(), wsInterleaved);
            Gemm gemm = new Gemm(module(), stream()).use(Gemm.Tile.TMA_128x256);
            DeviceBuffer gu = poisoned((long) m * n, "gate|up"), twoSteps = poisoned((long) m * inter, "swiglu"),
                    fused = poisoned((long) m * inter, "fused");
            gemm.runFp8(da, das, dws, dss, gu, m, n, k, Gemm.Output.BF16, null);
            new ModelKernels(module(), stream()).swiglu(gu, m, inter, twoSteps);
            gemm.runFp8(da, das, dwi, dsi, fused, m, n, k, Gemm.Output.SWIGLU_BF16, null);
            GemmGpuTest.assertSameBf16Bits(twoSteps, fused, m, inter, "fp8 fused SwiGLU");
        } finally {
            arena.reset(mark);
        }
    }

    @Tag("gpu")
    @Test
    void offHopperTheFp8GemmRefusesNamingTheDevice() {
        assumeGpu();
        Assumptions.assumeFalse(Gemm.fp8Supported(module(), stream()), "this device runs FP8");
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer b = arena.alloc(1 << 16, "b");
            var e = assertThrows(IllegalStateException.class,
                    () -> new Gemm(module(), stream()).runFp8(b, b, b, b, b, 16, 16, 16, Gemm.Output.F32, null));
            assertTrue(e.getMessage().contains(device().computeCapability()) && e.getMessage().contains("9.0"), e.getMessage());
        } finally {
            arena.reset(mark);
        }
    }

    // ---- argument checks: no GPU needed (they throw before any launch)

    private static DeviceBuffer fake(long bytes, String label) { return new DeviceBuffer(new CUdeviceptr(), 0, bytes, label); }

    @Test
    void rejectsKNotAMultipleOf16AndBuffersTooSmall() {
        Gemm g = new Gemm(null, null, Gemm.Tile.WGMMA_128x256);
        var e = assertThrows(IllegalArgumentException.class, () -> g.runFp8(fake(3 * 24, "a8"), fake(12, "as"),
                fake(16 * 24, "w8"), fake(64, "ws"), fake(4 * 3 * 16, "c"), 3, 16, 24, Gemm.Output.F32, null));
        assertTrue(e.getMessage().contains("m=3 n=16 k=24") && e.getMessage().contains("k of 16"), e.getMessage());
        var small = assertThrows(IllegalArgumentException.class, () -> g.runFp8(fake(3 * 32, "a8"), fake(8, "activation scales"),
                fake(16 * 32, "w8"), fake(64, "ws"), fake(4 * 3 * 16, "c"), 3, 16, 32, Gemm.Output.F32, null));
        assertTrue(small.getMessage().contains("activation scales") && small.getMessage().contains("aScale"), small.getMessage());
        var bf16Sized = assertThrows(IllegalArgumentException.class, () -> g.runFp8(fake(3 * 32, "a8"), fake(12, "as"),
                fake(16 * 32, "w8"), fake(64, "ws"), fake(2 * 3 * 16, "c"), 3, 16, 32, Gemm.Output.ADD_F32, null));
        assertTrue(bf16Sized.getMessage().contains("fp32"), bf16Sized.getMessage());
    }
}
