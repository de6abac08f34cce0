package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cuda.Kernel.Dim3;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.IntStream;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Gemm against a CPU float64 reference computed from the same bf16 inputs. GPU tests carry the
 * "gpu" tag (skipped without a device); the argument checks below them run everywhere.
 *
 * <p>Bounds. The inputs are exact bf16, so each product is exact in fp32 and the only error of the
 * fp32 outputs is the accumulation order (~1e-6 relative here); a real indexing bug (one missing
 * 8-element k chunk, a wrong row, a wrong bias column) costs at least a few 1e-2, so the fp32
 * bounds (1e-3) keep a wide margin on both sides. bf16 output adds the final rounding, at most
 * 2^-8 of the value (~1.7e-3 relative in the norm).
 */
class GemmGpuTest {
    static final double REL_BF16 = 1e-2, WORST_BF16 = 1e-2, REL_F32 = 1e-3, WORST_F32 = 1e-3;
    /** The outputs every kernel has (SWIGLU_BF16 is the persistent kernel's alone: its own tests). */
    static final List<Gemm.Output> GENERAL_OUTPUTS = List.of(Gemm.Output.BF16, Gemm.Output.F32, Gemm.Output.ADD_F32);

    /**
     * The kernels this device can run: T128x256 needs Hopper's shared memory; WGMMA_128x256 is
     * tested on sm_90 (where {@link #wgmmaKernelsAreTheSm90aBuildOnHopper} checks that it really
     * runs wgmma); TMA_128x256 where the sm_90a build runs and this process makes tensor maps (on
     * Hopper {@link #hopperRunsTheTmaKernelByDefault} checks that it does).
     */
    static List<Gemm.Tile> tiles() {
        List<Gemm.Tile> t = new ArrayList<>(List.of(Gemm.Tile.T128x128));
        if (Gemm.largestMmaTile(device()) == Gemm.Tile.T128x256) t.add(0, Gemm.Tile.T128x256);
        if ("9.0".equals(device().computeCapability())) t.add(0, Gemm.Tile.WGMMA_128x256);
        if (tmaRuns()) t.add(0, Gemm.Tile.TMA_128x256);
        return t;
    }

    /**
     * The rows (k elements each) of a stacked [gate; up] array of any element type, in the order
     * DeviceModel loads them for the fused SwiGLU (Gemm.interleaveGateUp); k = 1 for per-row scales
     * and biases.
     */
    static void interleaveGateUpRows(Object stacked, Object interleaved, int k, int inter) {
        for (int r = 0; r < 2 * inter; r++)
            System.arraycopy(stacked, (int) Gemm.interleaveGateUp(r, inter) * k, interleaved, r * k, k);
    }

    static boolean tmaRuns() {
        return "9.0".equals(device().computeCapability()) && Gemm.wgmmaLoaded(module(), stream())
                && TensorMap.unavailable() == null;
    }

    @Tag("gpu")
    @Test
    void hopperRunsTheTmaKernelByDefault() {
        assumeGpu();
        Assumptions.assumeTrue("9.0".equals(device().computeCapability()) && Gemm.wgmmaLoaded(module(), stream()),
                "not the sm_90a build on Hopper");
        assertNull(TensorMap.unavailable(), "the CUDA driver on a Hopper node makes tensor maps");
        assertEquals(Gemm.Tile.TMA_128x256, new Gemm(module(), stream()).tile());
    }

    @Tag("gpu")
    @Test
    void wgmmaKernelsAreTheSm90aBuildOnHopper() {
        assumeGpu();
        boolean loaded = Gemm.wgmmaLoaded(module(), stream());
        System.out.println("gemm: " + device() + ": sm_90a code loaded (wgmma kernels use wgmma): " + loaded
                + "; default kernel " + new Gemm(module(), stream()).tile());
        if ("9.0".equals(device().computeCapability()))
            assertTrue(loaded, "on sm_90 the driver loaded the sm_90 build, not sm_90a: gemm_wgmma_* run the mma.sync"
                    + " code, so the wgmma path is neither used nor tested (Gemm falls back to T128x256)");
        else
            assertEquals(Gemm.largestMmaTile(device()), new Gemm(module(), stream()).tile());
    }

    /**
     * The persistent kernel's grid comes from the driver's cluster occupancy, asked through JNA
     * with a hand-laid CUlaunchConfig: at least one cluster of two 197 KB CTAs fits, and never more
     * than the SMs hold one CTA each (an answer outside that means the struct or the call is wrong).
     */
    @Tag("gpu")
    @Test
    void theClusterOccupancyFitsTheSms() {
        assumeGpu();
        Assumptions.assumeTrue(tmaRuns(), "the persistent TMA kernel does not run here");
        for (String kernel : List.of("gemm_tma_128x256_bf16", "gemm_tma_128x256_add_f32")) {
            int clusters = new Gemm(module(), stream()).activeClusters(kernel, Gemm.Tile.TMA_128x256);
            assertTrue(clusters >= 1 && clusters * Gemm.CLUSTER <= device().multiprocessors(),
                    kernel + ": " + clusters + " clusters of " + Gemm.CLUSTER + " on " + device().multiprocessors() + " SMs");
        }
    }

    @Tag("gpu")
    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({
        "1,8,64", "3,24,136", "1,8,8", "64,8,8", "2,1376,8", "127,136,1376", "129,1376,136",
        "300,1376,1376", "128,256,64", "256,512,128", "257,520,200", "130,264,8192", "1000,1024,520",
        "2181,40,72", "33,4104,264", "4100,1096,136"})
    void matchesCpuReference(int m, int n, int k) {
        assumeGpu();
        Random rnd = new Random(1_000_003L * m + 1009L * n + k);
        float[] a = randomBf16(rnd, (long) m * k, 1.0), w = randomBf16(rnd, (long) n * k, 1.0);
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) bias[i] = (float) (rnd.nextGaussian() * Math.sqrt(k));  // as large as the product
        double[] ref = reference(a, w, m, n, k);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer da = upload(a, "a"), dw = upload(w, "w");
            DeviceBuffer db = arena.alloc(4L * n, "bias");
            db.upload(stream(), bias);
            for (Gemm.Tile tile : tiles()) {
                Gemm gemm = new Gemm(module(), stream()).use(tile);
                for (Gemm.Output out : GENERAL_OUTPUTS) {
                    for (boolean withBias : new boolean[] {false, true}) {
                        long m2 = arena.mark();
                        String what = String.format(Locale.ROOT, "%s m=%d n=%d k=%d %s bias=%b", tile, m, n, k, out, withBias);
                        Target t = target(arena, out, ref, withBias ? bias : null, m, n, k, rnd);
                        DeviceBuffer c = t.c();
                        double[] expect = t.expect();
                        gemm.run(da, dw, c, m, n, k, out, withBias ? db : null);
                        float[] got = download(c, out, m * n);
                        if (out == Gemm.Output.BF16) assertClose(expect, got, REL_BF16, WORST_BF16, what);
                        else assertClose(expect, got, REL_F32, WORST_F32, what);
                        if (out == Gemm.Output.F32) {  // same inputs, same bits: a moving result is a race
                            c.fill32(stream(), 0x7FC00000);
                            gemm.run(da, dw, c, m, n, k, out, withBias ? db : null);
                            float[] again = download(c, out, m * n);
                            for (int i = 0; i < got.length; i++) {
                                final int at = i;
                                assertEquals(Float.floatToRawIntBits(got[i]), Float.floatToRawIntBits(again[i]),
                                        () -> what + ": second run differs at element " + at);
                            }
                        }
                        arena.reset(m2);
                    }
                }
            }
        } finally {
            arena.reset(mark);
        }
    }

    /**
     * The fused SwiGLU product (gate and up rows interleaved by 128) against the two steps it
     * replaces, a BF16 product of the stacked weight and then swiglu_k: the same bits, every row
     * and feature, with and without a bias; shapes with partial M tiles, one unit, and more units
     * than clusters.
     */
    @Tag("gpu")
    @ParameterizedTest(name = "m={0} inter={1} k={2}")
    @CsvSource({"1,128,64", "300,384,136", "4100,640,72"})
    void fusedSwigluIsTheProductThenSwigluBitForBit(int m, int inter, int k) {
        assumeGpu();
        Assumptions.assumeTrue(tmaRuns(), "the fused SwiGLU needs the persistent TMA kernel");
        Random rnd = new Random(97L * m + inter + k);
        int n = 2 * inter;
        float[] a = randomBf16(rnd, (long) m * k, 1.0), stackedW = randomBf16(rnd, (long) n * k, 0.5);
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) bias[i] = (float) rnd.nextGaussian();
        float[] interleavedW = new float[stackedW.length], interleavedBias = new float[n];
        interleaveGateUpRows(stackedW, interleavedW, k, inter);
        interleaveGateUpRows(bias, interleavedBias, 1, inter);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer da = upload(a, "a"), dws = upload(stackedW, "stacked gate|up"), dwi = upload(interleavedW, "interleaved");
            DeviceBuffer db = arena.alloc(4L * n, "bias"), dbi = arena.alloc(4L * n, "interleaved bias");
            db.upload(stream(), bias);
            dbi.upload(stream(), interleavedBias);
            Gemm gemm = new Gemm(module(), stream()).use(Gemm.Tile.TMA_128x256);
            assertTrue(gemm.fusesSwiglu(inter));
            for (boolean withBias : new boolean[] {false, true}) {
                DeviceBuffer gu = poisoned((long) m * n, "gate|up"), twoSteps = poisoned((long) m * inter, "swiglu"),
                        fused = poisoned((long) m * inter, "fused");
                gemm.run(da, dws, gu, m, n, k, Gemm.Output.BF16, withBias ? db : null);
                new ModelKernels(module(), stream()).swiglu(gu, m, inter, twoSteps);
                gemm.run(da, dwi, fused, m, n, k, Gemm.Output.SWIGLU_BF16, withBias ? dbi : null);
                assertSameBf16Bits(twoSteps, fused, m, inter,
                        String.format(Locale.ROOT, "m=%d inter=%d k=%d bias=%b", m, inter, k, withBias));
            }
        } finally {
            arena.reset(mark);
        }
    }

    /** Two bf16 [rows, cols] device matrices hold the same bits, element by element. */
    static void assertSameBf16Bits(DeviceBuffer want, DeviceBuffer got, int rows, int cols, String what) {
        short[] w = new short[rows * cols], g = new short[rows * cols];
        want.download(stream(), w);
        got.download(stream(), g);
        for (int i = 0; i < w.length; i++) {
            final int at = i;
            assertEquals(w[i], g[i], () -> what + ": row " + at / cols + " column " + at % cols);
        }
    }

    @Test
    void theFusedSwigluRefusesAnyOtherTileAndAPartialBlock() {
        DeviceBuffer a = fake(2L * 4 * 64, "a"), w = fake(2L * 256 * 64, "w"), c = fake(2L * 4 * 128, "c");
        var tile = assertThrows(IllegalStateException.class,
                () -> new Gemm(null, null, Gemm.Tile.WGMMA_128x256).run(a, w, c, 4, 256, 64, Gemm.Output.SWIGLU_BF16, null));
        assertTrue(tile.getMessage().contains("TMA_128x256") && tile.getMessage().contains("WGMMA_128x256"), tile.getMessage());
        var partial = assertThrows(IllegalArgumentException.class, () -> new Gemm(null, null, Gemm.Tile.TMA_128x256)
                .run(a, fake(2L * 384 * 64, "w"), c, 4, 384, 64, Gemm.Output.SWIGLU_BF16, null));
        assertTrue(partial.getMessage().contains("multiple of 256"), partial.getMessage());
        var small = assertThrows(IllegalArgumentException.class, () -> new Gemm(null, null, Gemm.Tile.TMA_128x256)
                .run(a, w, fake(2L * 4 * 128 - 2, "act"), 4, 256, 64, Gemm.Output.SWIGLU_BF16, null));
        assertTrue(small.getMessage().contains("c [m, n / 2] bf16") && small.getMessage().contains("act"), small.getMessage());
        assertFalse(new Gemm(null, null, Gemm.Tile.TMA_128x256).fusesSwiglu(688), "688 is not whole blocks of 128");
        assertFalse(new Gemm(null, null, Gemm.Tile.WGMMA_128x256).fusesSwiglu(1024));
        assertTrue(new Gemm(null, null, Gemm.Tile.TMA_128x256).fusesSwiglu(14336));
    }

    @Test
    void theInterleavedGateUpIsAPermutationOfWholeBlocks() {
        long inter = 384;
        boolean[] seen = new boolean[(int) (2 * inter)];
        for (int r = 0; r < 2 * inter; r++) {
            long from = Gemm.interleaveGateUp(r, inter);
            assertFalse(seen[(int) from], "row " + from + " twice");
            seen[(int) from] = true;
            int block = r / 256, within = r % 256;
            // a 256-row tile holds gate features 128 block .. and the up rows of the same features
            assertEquals(within < 128 ? 128L * block + within : inter + 128L * block + within - 128, from, "row " + r);
        }
    }

    /**
     * A real-sized product where m*n passes 2^31 elements (64-bit offsets) and the rasterisation
     * has many groups, checked at sampled elements; inputs made on the device. Needs ~5.5 GB.
     */
    @Tag("gpu")
    @Test
    void largeShapeSampled() {
        assumeGpu();
        org.junit.jupiter.api.Assumptions.assumeFalse(io.prefill.settings.PrefillSettings.CUDA_SEPARATE_ALLOCATIONS.get(),
                "skipped in sanitizer runs (a 1.2 TFLOP product)");
        final int m = 70_001, n = 32_776, k = 264;
        long bytes = 2L * m * k + 2L * n * k + 2L * m * n + (1L << 20);
        org.junit.jupiter.api.Assumptions.assumeTrue(device().freeMemory() > bytes + (2L << 30),
                "not enough free device memory for the large GEMM test");
        try (DeviceArena big = new DeviceArena(device(), bytes)) {
            DeviceBuffer a = big.alloc(2L * m * k, "a"), w = big.alloc(2L * n * k, "w"), c = big.alloc(2L * m * n, "c");
            fillRandom(a, (long) m * k, 7);
            fillRandom(w, (long) n * k, 8);
            for (Gemm.Tile tile : tiles()) {
                c.fill32(stream(), POISON);
                new Gemm(module(), stream()).use(tile).run(a, w, c, m, n, k, Gemm.Output.BF16, null);
                Random rnd = new Random(5);
                int samples = 400;
                double[] expect = new double[samples];
                float[] got = new float[samples];
                for (int s = 0; s < samples; s++) {
                    // the four corners, 20 elements of the last row and of the last column, then random
                    int i = rnd.nextInt(m), j = rnd.nextInt(n);
                    if (s < 4) { i = (s & 1) == 0 ? 0 : m - 1; j = (s & 2) == 0 ? 0 : n - 1; }
                    else if (s < 24) i = m - 1;
                    else if (s < 44) j = n - 1;
                    float[] ar = downloadBf16(a.slice(2L * i * k, 2L * k, "a row"), k);
                    float[] wr = downloadBf16(w.slice(2L * j * k, 2L * k, "w row"), k);
                    double acc = 0;
                    for (int x = 0; x < k; x++) acc += (double) ar[x] * wr[x];
                    expect[s] = acc;
                    got[s] = downloadBf16(c.slice(2L * ((long) i * n + j), 2, "c element"), 1)[0];
                }
                assertClose(expect, got, REL_BF16, WORST_BF16, tile + " m=" + m + " n=" + n + " k=" + k + " sampled");
            }
        }
    }

    // ---- argument checks: no GPU needed (they throw before any launch)

    private static DeviceBuffer fake(long bytes, String label) { return new DeviceBuffer(new CUdeviceptr(), 0, bytes, label); }

    private static Gemm cpuOnly() { return new Gemm(null, null, Gemm.Tile.T128x256); }

    @Test
    void rejectsNAndKNotMultiplesOf8() {
        var e = assertThrows(IllegalArgumentException.class, () ->
                cpuOnly().run(fake(2 * 3 * 64, "a"), fake(2 * 12 * 64, "w"), fake(2 * 3 * 12, "c"), 3, 12, 64, Gemm.Output.BF16, null));
        assertTrue(e.getMessage().contains("m=3 n=12 k=64"), e.getMessage());
        assertTrue(e.getMessage().contains("multiples of 8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
                cpuOnly().run(fake(2 * 3 * 60, "a"), fake(2 * 16 * 60, "w"), fake(2 * 3 * 16, "c"), 3, 16, 60, Gemm.Output.BF16, null));
        assertThrows(IllegalArgumentException.class, () ->
                cpuOnly().run(fake(0, "a"), fake(0, "w"), fake(0, "c"), 3, 0, 64, Gemm.Output.BF16, null));
        assertThrows(IllegalArgumentException.class, () ->
                cpuOnly().run(fake(64, "a"), fake(64, "w"), fake(64, "c"), -1, 8, 8, Gemm.Output.BF16, null));
    }

    @Test
    void rejectsBuffersTooSmall() {
        int m = 5, n = 16, k = 32;
        Gemm g = cpuOnly();
        var e = assertThrows(IllegalArgumentException.class, () ->
                g.run(fake(2L * m * k - 2, "acts"), fake(2L * n * k, "w"), fake(2L * m * n, "c"), m, n, k, Gemm.Output.BF16, null));
        assertTrue(e.getMessage().contains("m=5 n=16 k=32") && e.getMessage().contains("acts"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
                g.run(fake(2L * m * k, "a"), fake(2L * n * k - 16, "w"), fake(2L * m * n, "c"), m, n, k, Gemm.Output.BF16, null));
        // fp32 outputs need 4 bytes per element: a bf16-sized C is too small
        for (Gemm.Output out : new Gemm.Output[] {Gemm.Output.F32, Gemm.Output.ADD_F32}) {
            var e2 = assertThrows(IllegalArgumentException.class, () ->
                    g.run(fake(2L * m * k, "a"), fake(2L * n * k, "w"), fake(2L * m * n, "c"), m, n, k, out, null));
            assertTrue(e2.getMessage().contains("fp32"), e2.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () ->
                g.run(fake(2L * m * k, "a"), fake(2L * n * k, "w"), fake(2L * m * n, "c"), m, n, k, Gemm.Output.BF16,
                        fake(4L * n - 4, "bias")));
        assertThrows(IllegalArgumentException.class, () ->
                g.run(null, fake(2L * n * k, "w"), fake(2L * m * n, "c"), m, n, k, Gemm.Output.BF16, null));
    }

    @Test
    void emptyMIsANoOp() {
        // m = 0 passes the checks and returns before touching the (absent) module
        cpuOnly().run(fake(0, "a"), fake(2 * 8 * 8, "w"), fake(0, "c"), 0, 8, 8, Gemm.Output.ADD_F32, null);
    }

    @Test
    void tilesAndFlops() {
        assertEquals(196_608 + 1024, Gemm.Tile.WGMMA_128x256.smemBytes());
        assertEquals(196_608 + 64 + 1024, Gemm.Tile.TMA_128x256.smemBytes());
        assertEquals(196_608, Gemm.Tile.T128x256.smemBytes());
        assertEquals(98_304, Gemm.Tile.T128x128.smemBytes());
        assertEquals(3L * 2, Gemm.Tile.T128x256.ctas(257, 512));
        assertEquals(2L * 2, Gemm.Tile.TMA_128x256.units(257, 512), "pairs of M-tiles: 3 tiles make 2 pairs");
        assertEquals(1L, Gemm.Tile.TMA_128x256.units(256, 256));
        assertEquals(1L, Gemm.Tile.T128x128.ctas(1, 8));
        assertEquals(2.0 * 16384 * 6144 * 4096, Gemm.flops(16384, 6144, 4096));
    }

    // ---- helpers

    /** An output buffer c and what a product ref (+ bias) must leave in it. */
    record Target(DeviceBuffer c, double[] expect) { }

    /**
     * C for one run: for ADD_F32 random values of the product's size (the expectation adds them),
     * otherwise NaN everywhere so that an element the kernel does not write shows; expect = ref
     * (+ bias[col] when biasOrNull is given) (+ the old values).
     */
    static Target target(DeviceArena arena, Gemm.Output out, double[] ref, float[] biasOrNull, int m, int n, int k,
                         Random rnd) {
        float[] old = null;
        DeviceBuffer c = arena.alloc((long) out.bytes * m * n, "c");
        if (out == Gemm.Output.ADD_F32) {
            old = new float[m * n];
            for (int i = 0; i < old.length; i++) old[i] = (float) (rnd.nextGaussian() * Math.sqrt(k));
            c.upload(stream(), old);
        } else {
            c.fill32(stream(), out == Gemm.Output.BF16 ? POISON : 0x7FC00000);
        }
        double[] expect = new double[m * n];
        for (int i = 0; i < m * n; i++)
            expect[i] = ref[i] + (biasOrNull != null ? biasOrNull[i % n] : 0) + (old != null ? old[i] : 0);
        return new Target(c, expect);
    }

    /** ref[i*n + j] = sum_x a[i*k + x] * w[j*k + x] in float64. */
    static double[] reference(float[] a, float[] w, int m, int n, int k) {
        double[] ref = new double[m * n];
        IntStream.range(0, m).parallel().forEach(i -> {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                int ai = i * k, wj = j * k;
                for (int x = 0; x < k; x++) acc += (double) a[ai + x] * w[wj + x];
                ref[i * n + j] = acc;
            }
        });
        return ref;
    }

    static float[] download(DeviceBuffer c, Gemm.Output out, int count) {
        if (out == Gemm.Output.BF16) return downloadBf16(c, count);
        float[] f = new float[count];
        c.download(stream(), f);
        return f;
    }

    static void fillRandom(DeviceBuffer b, long count, int seed) {
        module().kernel("fill_random_bf16_k").launch(stream(), Dim3.of(4096), 256, 0, b, count, seed, 1.0f);
    }

    /**
     * Every element finite (written), ||got - ref|| / ||ref|| < rel, and every element within
     * worst * (rms(ref) + |ref|). Prints the errors so that a run shows how much margin is left.
     */
    static void assertClose(double[] ref, float[] got, double rel, double worst, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            float g = got[i];
            final int at = i;
            assertTrue(Float.isFinite(g), () -> what + ": element " + at + " not written or not finite (" + g + ")");
            double e = g - ref[i];
            num += e * e;
            den += ref[i] * ref[i];
        }
        double rms = Math.sqrt(den / Math.max(1, ref.length));
        double w = 0;
        int worstAt = 0;
        for (int i = 0; i < ref.length; i++) {
            double x = Math.abs(got[i] - ref[i]) / (rms + Math.abs(ref[i]));
            if (x > w) { w = x; worstAt = i; }
        }
        double r = Math.sqrt(num / Math.max(den, 1e-300)), ww = w;
        int wa = worstAt;
        System.out.printf(Locale.ROOT, "%s: relative error %.2e, worst element %.2e%n", what, r, ww);
        assertTrue(r < rel, () -> what + ": relative error " + r);
        assertTrue(ww < worst, () -> what + ": worst element error " + ww + " at " + wa + " (got " + got[wa]
                + ", expected " + ref[wa] + ")");
    }
}
