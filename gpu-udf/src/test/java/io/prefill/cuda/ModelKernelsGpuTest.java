package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.engine.TokenLogprobs;
import io.prefill.model.RopeFrequencies;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every kernel of model_ops.cuh against a plain Java reference on fresh random inputs. Outputs
 * are poisoned with NaN first and checked fully written, with guard bytes after (and, for
 * "misaligned" cases, before) each output that must stay poisoned. Misaligned cases put every
 * buffer 2 (bf16) or 4 (fp32, int) bytes past a 16-byte boundary, which runs the kernels' scalar
 * path instead of the 16-byte one.
 */
@Tag("gpu")
class ModelKernelsGpuTest {
    private static final short POISON16 = (short) 0x7FC0;
    private static final int GUARD = 64;

    @BeforeEach
    void gpu() { assumeGpu(); }

    private static ModelKernels ops() { return new ModelKernels(module(), stream()); }

    // ---------------------------------------------------------------- embedding

    @ParameterizedTest(name = "count={0} hidden={1} misaligned={2}")
    @CsvSource({"1,64,false", "3,136,false", "65,4096,false", "1000,64,false", "1000,136,false",
                "65,136,true", "3,4096,true"})
    void embedRows(int count, int hidden, boolean mis) {
        Random rnd = new Random(11L * count + hidden + (mis ? 1 : 0));
        int vocab = 97;
        float[] table = randomBf16(rnd, (long) vocab * hidden, 1.0);
        int[] ids = new int[count];
        for (int t = 0; t < count; t++) ids[t] = rnd.nextInt(vocab);
        ids[0] = vocab - 1;
        if (count > 1) ids[count - 1] = 0;
        long mark = arena().mark();
        try {
            View dTable = bf16In(table, mis ? 2 : 0, "table");
            View dIds = intsIn(ids, mis ? 4 : 0, "ids");
            View x = View.poisoned(4L * count * hidden, mis ? 4 : 0, "x");
            ops().embedRows(dTable.view, vocab, dIds.view, count, hidden, x.view);
            float[] got = x.floats();
            for (int t = 0; t < count; t++)
                for (int e = 0; e < hidden; e++) {
                    float want = table[ids[t] * hidden + e], g = got[t * hidden + e];
                    if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(g))
                        fail("embed x[" + t + "," + e + "] = " + g + ", want " + want);
                }
            x.assertGuards("embed x");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- RMSNorm

    @ParameterizedTest(name = "rows={0} dim={1} misaligned={2}")
    @CsvSource({"1,64,false", "3,136,false", "65,512,false", "1000,64,false", "65,1024,false", "3,1032,false",
                "65,4096,false", "1000,4096,false", "3,8192,false", "1,16384,false", "65,136,true", "3,4096,true"})
    void rmsNorm(int rows, int dim, boolean mis) {
        Random rnd = new Random(13L * rows + dim + (mis ? 1 : 0));
        float eps = rows % 2 == 0 ? 1e-5f : 1e-6f;
        float[] x = new float[rows * dim], w = new float[dim];
        for (int r = 0; r < rows; r++) {
            double scale = Math.pow(10, rnd.nextDouble() * 4 - 2);  // rows of very different sizes
            for (int e = 0; e < dim; e++) x[r * dim + e] = (float) (rnd.nextGaussian() * scale);
        }
        if (rows >= 3) java.util.Arrays.fill(x, dim, 2 * dim, 0f);  // an all-zero row: y = 0
        for (int e = 0; e < dim; e++) w[e] = (float) (1 + 0.2 * rnd.nextGaussian());
        float[] ref = new float[rows * dim];
        for (int r = 0; r < rows; r++) {  // io.prefill.cpu.RmsNorm.normalizeRow
            double ss = 0;
            for (int e = 0; e < dim; e++) ss += (double) x[r * dim + e] * x[r * dim + e];
            float inv = (float) (1.0 / Math.sqrt(ss / dim + eps));
            for (int e = 0; e < dim; e++) ref[r * dim + e] = x[r * dim + e] * inv * w[e];
        }
        long mark = arena().mark();
        try {
            int off = mis ? 4 : 0;
            View dx = f32In(x, off, "x"), dw = f32In(w, off, "w");
            View y32 = View.poisoned(4L * rows * dim, off, "y32");
            View y16 = View.poisoned(2L * rows * dim, mis ? 2 : 0, "y16");
            ModelKernels ops = ops();
            ops.rmsNormF32(dx.view, dw.view, rows, dim, eps, y32.view);
            ops.rmsNormBf16(dx.view, dw.view, rows, dim, eps, y16.view);
            assertElementwise(ref, y32.floats(), 1e-5, 0, "rmsnorm f32 " + rows + "x" + dim);
            assertElementwise(ref, y16.bf16s(), 1e-2, 0, "rmsnorm bf16 " + rows + "x" + dim);
            assertNormwise(ref, y16.bf16s(), 5e-3, "rmsnorm bf16 " + rows + "x" + dim);
            y32.assertGuards("rmsnorm y32");
            y16.assertGuards("rmsnorm y16");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- bias + RoPE + split

    @ParameterizedTest(name = "H={0} Hkv={1} d={2} rows={3} row0={4} n={5} bias={6} theta={7} misaligned={8}")
    @CsvSource({
        "1,1,64,1,0,1,false,10000,false", "4,1,128,3,5,10,true,10000,false", "8,8,64,65,100,200,true,500000,false",
        "8,1,128,65,0,65,false,1000000,false", "8,4,128,1000,1000,2500,true,10000,false",
        "6,2,64,3,50,60,true,10000,false", "32,8,128,65,3,70,true,500000,false", "4,1,64,65,7,80,true,10000,true",
        "1,1,64,65,999935,1000000,true,10000,false", "2,1,128,1000,998000,1000003,false,500000,false"})
    void ropeSplit(int H, int Hkv, int d, int rows, int row0, int n, boolean withBias, double theta, boolean mis) {
        Random rnd = new Random(17L * rows + d + H + row0);
        int S = H + 2 * Hkv, width = S * d;
        float[] qkv = gaussian(rnd, rows * width, 1);
        float[] bias = withBias ? gaussian(rnd, width, 0.5) : null;
        double[] inv = RopeFrequencies.unscaled(d, theta);
        checkRopeSplit(qkv, bias, inv, null, H, Hkv, d, rows, row0, n, mis);
    }

    @ParameterizedTest(name = "H={0} Hkv={1} d={2} rows={3} row0={4} n={5} pairs={6} interleaved={7} scale={8} misaligned={9}")
    @CsvSource({
        "4,2,128,65,0,65,32,true,1.0,false", "4,2,64,3,10,20,16,true,1.0,true", "2,1,128,17,3,40,64,true,1.0,false",
        "4,1,64,65,5,80,32,false,1.19,false", "2,2,128,33,0,33,20,true,1.3,false"})
    void ropeSplitPartialInterleavedScaled(int H, int Hkv, int d, int rows, int row0, int n, int pairs,
                                           boolean interleaved, float scale, boolean mis) {
        Random rnd = new Random(31L * rows + d + pairs);
        int width = (H + 2 * Hkv) * d;
        float[] qkv = gaussian(rnd, rows * width, 1);
        float[] bias = gaussian(rnd, width, 0.5);
        double[] inv = RopeFrequencies.unscaled(2 * pairs, 10000);
        ModelKernels.Rotary rotary = new ModelKernels.Rotary(pairs, interleaved, scale);
        checkRopeSplit(qkv, bias, inv, rotary, H, Hkv, d, rows, row0, n, mis);
    }

    /**
     * Heads of d written into rows of dPad (Phi-3's 96 in 128, 80 in 128, 48 in 64): the first d
     * as unpadded, [d, dPad) zero, Q alone times sqrt(dPad / d); with longrope's cos/sin scale,
     * GLM's interleaved partial part, bias, misaligned buffers.
     */
    @ParameterizedTest(name = "H={0} Hkv={1} d={2} dPad={3} rows={4} row0={5} n={6} pairs={7} interleaved={8} scale={9} bias={10} misaligned={11}")
    @CsvSource({
        "4,2,96,128,65,0,65,48,false,1.19,true,false", "8,2,96,128,3,10,20,48,false,1.0,false,false",
        "4,1,96,128,65,7,80,48,false,1.19,true,true", "2,2,80,128,33,0,33,40,false,1.0,true,false",
        "3,1,80,128,17,5,40,20,true,1.0,true,false", "4,2,48,64,65,3,70,24,false,1.0,true,false",
        "6,2,112,128,1000,1000,2500,56,false,1.3,true,false", "1,1,96,128,65,999935,1000000,48,false,1.0,false,false"})
    void ropeSplitIntoPaddedRows(int H, int Hkv, int d, int dPad, int rows, int row0, int n, int pairs, boolean interleaved,
                                 float scale, boolean withBias, boolean mis) {
        Random rnd = new Random(43L * rows + d + dPad + pairs);
        int width = (H + 2 * Hkv) * d;
        float[] qkv = gaussian(rnd, rows * width, 1);
        float[] bias = withBias ? gaussian(rnd, width, 0.5) : null;
        double[] inv = RopeFrequencies.unscaled(2 * pairs, 10000);
        ModelKernels.Rotary rotary = new ModelKernels.Rotary(pairs, interleaved, scale);
        float qScale = (float) Math.sqrt((double) dPad / d);
        assertEquals(HeadWidth.of(d).qScale(), qScale, "the factor CudaForwardPass passes");
        checkRopeSplit(qkv, bias, inv, rotary, H, Hkv, d, dPad, qScale, rows, row0, n, mis);
    }

    /**
     * ropeSplit of rows [row0, row0 + rows) into poisoned head-major Q, K, V (misaligned views
     * when mis), checked element by element against RopeRef; rotary null: the overload without one.
     */
    private void checkRopeSplit(float[] qkv, float[] bias, double[] inv, ModelKernels.Rotary rotary, int H, int Hkv,
                                int d, int rows, int row0, int n, boolean mis) {
        checkRopeSplit(qkv, bias, inv, rotary, H, Hkv, d, d, 1f, rows, row0, n, mis);
    }

    /** The same into rows of dPad elements (zero past d), Q times qScale; the unpadded launch when dPad == d and qScale == 1. */
    private void checkRopeSplit(float[] qkv, float[] bias, double[] inv, ModelKernels.Rotary rotary, int H, int Hkv,
                                int d, int dPad, float qScale, int rows, int row0, int n, boolean mis) {
        boolean padded = dPad != d || qScale != 1f;
        long mark = arena().mark();
        try {
            int off = mis ? 4 : 0, off16 = mis ? 2 : 0;
            View dqkv = f32In(qkv, off, "qkv");
            View dbias = bias == null ? null : f32In(bias, off, "bias");
            DeviceBuffer dinv = arena().alloc(8L * inv.length, "invFreq");
            ModelKernels ops = ops();
            ops.uploadDoubles(dinv, inv);
            View q = View.poisoned(2L * H * n * dPad, off16, "Q"), k = View.poisoned(2L * Hkv * n * dPad, off16, "K"),
                 v = View.poisoned(2L * Hkv * n * dPad, off16, "V");
            DeviceBuffer biasView = dbias == null ? null : dbias.view;
            RopeRef ref;
            if (padded) {
                ops.ropeSplit(dqkv.view, biasView, dinv, rotary, rows, row0, n, H, Hkv, d, dPad, qScale, q.view, k.view,
                        v.view);
                ref = new RopeRef(qkv, bias, inv, H, Hkv, d, row0, rotary, qScale);
            } else if (rotary == null) {
                ops.ropeSplit(dqkv.view, biasView, dinv, rows, row0, n, H, Hkv, d, q.view, k.view, v.view);
                ref = new RopeRef(qkv, bias, inv, H, Hkv, d, row0);
            } else {
                ops.ropeSplit(dqkv.view, biasView, dinv, rotary, rows, row0, n, H, Hkv, d, q.view, k.view, v.view);
                ref = new RopeRef(qkv, bias, inv, H, Hkv, d, row0, rotary);
            }
            checkHeadMajor(q.view, H, n, d, dPad, row0, rows, 0, ref, "Q");
            checkHeadMajor(k.view, Hkv, n, d, dPad, row0, rows, H, ref, "K");
            checkHeadMajor(v.view, Hkv, n, d, dPad, row0, rows, H + Hkv, ref, "V");
            q.assertGuards("Q");
            k.assertGuards("K");
            v.assertGuards("V");
        } finally {
            arena().reset(mark);
        }
    }

    private record RopeRef(float[] qkv, float[] bias, double[] inv, int H, int Hkv, int d, int row0,
                           ModelKernels.Rotary rotary, float qScale) {
        RopeRef(float[] qkv, float[] bias, double[] inv, int H, int Hkv, int d, int row0) {
            this(qkv, bias, inv, H, Hkv, d, row0, ModelKernels.Rotary.rotateHalf(d));
        }

        RopeRef(float[] qkv, float[] bias, double[] inv, int H, int Hkv, int d, int row0, ModelKernels.Rotary rotary) {
            this(qkv, bias, inv, H, Hkv, d, row0, rotary, 1f);
        }

        /** Checks the d bf16 values written for (slot, row r) starting at got[at]. */
        void check(int slot, int r, short[] got, int at, String what) {
            int width = (H + 2 * Hkv) * d, half = d / 2;
            long p = (long) row0 + r;
            for (int i = 0; i < half; i++) {
                int ea = rotary.interleaved() ? 2 * i : i, eb = rotary.interleaved() ? 2 * i + 1 : i + half;
                boolean rotate = slot < H + Hkv && i < rotary.pairs();
                int ia = r * width + slot * d + ea, ib = r * width + slot * d + eb;
                float a = qkv[ia], b = qkv[ib];
                if (bias != null) {  // fp32 add, as the GEMM + bias of the CPU path
                    a += bias[slot * d + ea];
                    b += bias[slot * d + eb];
                }
                float ga = Bf16.toFloat(got[at + ea]), gb = Bf16.toFloat(got[at + eb]);
                float f = slot < H ? qScale : 1f;  // Q alone, after RoPE, in fp32 before the bf16 store
                if (!rotate) {
                    a *= f;
                    b *= f;
                    if (got[at + ea] != Bf16.fromFloat(a) || got[at + eb] != Bf16.fromFloat(b))
                        fail(what + " unrotated slot " + slot + " row " + p + " pair " + i + ": got " + ga + "," + gb
                                + " want " + a + "," + b);
                    continue;
                }
                double angle = p * inv[i], c = rotary.scale() * Math.cos(angle), s = rotary.scale() * Math.sin(angle);
                double ra = (a * c - b * s) * f, rb = (b * c + a * s) * f;
                double tol = (Math.abs(a) + Math.abs(b)) * f;
                if (!(Math.abs(ga - ra) <= 1e-2 * Math.abs(ra) + 1e-5 * tol)
                        || !(Math.abs(gb - rb) <= 1e-2 * Math.abs(rb) + 1e-5 * tol))
                    fail(what + " slot " + slot + " position " + p + " pair " + i + ": got (" + ga + ", " + gb
                            + ") want (" + ra + ", " + rb + ")");
            }
        }
    }

    private static void checkHeadMajor(DeviceBuffer buf, int heads, int n, int d, int row0, int rows, int firstSlot,
                                       RopeRef ref, String what) {
        checkHeadMajor(buf, heads, n, d, d, row0, rows, firstSlot, ref, what);
    }

    /**
     * Checks a head-major [heads, n, dPad] output: rows row0..row0+rows-1 against the reference in
     * their first d elements and +0 in [d, dPad), every other row still poisoned (all of them for
     * small buffers, the neighbours for large ones).
     */
    private static void checkHeadMajor(DeviceBuffer buf, int heads, int n, int d, int dPad, int row0, int rows,
                                       int firstSlot, RopeRef ref, String what) {
        boolean small = (long) heads * n * dPad <= (4L << 20);
        int lo = small ? 0 : Math.max(0, row0 - 2), hi = small ? n : Math.min(n, row0 + rows + 2);
        for (int h = 0; h < heads; h++) {
            short[] got = new short[(hi - lo) * dPad];
            buf.slice(2L * ((long) h * n + lo) * dPad, 2L * got.length, what + ".rows").download(stream(), got);
            for (int p = lo; p < hi; p++) {
                int at = (p - lo) * dPad;
                if (p >= row0 && p < row0 + rows) {
                    ref.check(firstSlot + h, p - row0, got, at, what);
                    for (int e = d; e < dPad; e++)
                        if (got[at + e] != 0)
                            fail(what + " head " + h + " row " + p + ": padding element " + e + " is "
                                    + Bf16.toFloat(got[at + e]) + ", not +0");
                } else {
                    for (int e = 0; e < dPad; e++)
                        if (got[at + e] != POISON16)
                            fail(what + " head " + h + " row " + p + " outside [row0, row0 + rows) was written");
                }
            }
        }
    }

    // ---------------------------------------------------------------- heads -> rows

    @ParameterizedTest(name = "H={0} n={1} d={2} row0={3} rows={4} misaligned={5}")
    @CsvSource({"1,1,64,0,1,false", "4,70,128,5,65,false", "8,1500,64,400,1000,false", "3,10,128,7,3,false",
                "32,130,128,1,128,false", "4,70,64,2,65,true"})
    void headsToRows(int H, int n, int d, int row0, int rows, boolean mis) {
        checkHeadsToRows(H, n, d, d, row0, rows, mis, (o, out) -> ops().headsToRows(o, H, n, d, row0, rows, out));
    }

    /** The padded attention output back to the model's width: the first d of each dPad-wide row, bit for bit. */
    @ParameterizedTest(name = "H={0} n={1} d={2} dPad={3} row0={4} rows={5} misaligned={6}")
    @CsvSource({"4,70,96,128,5,65,false", "32,130,96,128,1,128,false", "3,10,80,128,7,3,false", "8,1500,48,64,400,1000,false",
                "4,70,96,128,2,65,true"})
    void headsToRowsDropsThePadding(int H, int n, int d, int dPad, int row0, int rows, boolean mis) {
        checkHeadsToRows(H, n, d, dPad, row0, rows, mis,
                (o, out) -> ops().headsToRows(o, H, n, d, dPad, row0, rows, out));
    }

    /**
     * o [H, n, dPad] random (the padding lanes nonzero too: they must not be copied) into rows
     * [rows, H * d] by `launch`: every element the head's, bit for bit, and the guards intact.
     */
    private void checkHeadsToRows(int H, int n, int d, int dPad, int row0, int rows, boolean mis,
                                  java.util.function.BiConsumer<DeviceBuffer, DeviceBuffer> launch) {
        Random rnd = new Random(dPad == d ? 19L * n + d + H : 23L * n + d + dPad + H);
        float[] o = randomBf16(rnd, (long) H * n * dPad, 1.0);
        long mark = arena().mark();
        try {
            View dO = bf16In(o, mis ? 2 : 0, "O");
            View out = View.poisoned(2L * rows * H * d, mis ? 2 : 0, "out");
            launch.accept(dO.view, out.view);
            float[] got = out.bf16s();
            for (int r = 0; r < rows; r++)
                for (int h = 0; h < H; h++)
                    for (int e = 0; e < d; e++) {
                        float want = o[(h * n + row0 + r) * dPad + e], g = got[r * H * d + h * d + e];
                        if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(g))
                            fail("out[" + r + ", " + h + "*d+" + e + "] = " + g + ", want " + want);
                    }
            out.assertGuards("headsToRows out");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- SwiGLU

    @ParameterizedTest(name = "rows={0} inter={1} misaligned={2}")
    @CsvSource({"1,64,false", "3,136,false", "65,4096,false", "1000,64,false", "1000,1368,false", "65,136,true"})
    void swiglu(int rows, int inter, boolean mis) {
        Random rnd = new Random(23L * rows + inter);
        float[] gu = randomBf16(rnd, 2L * rows * inter, 2.0);
        float[] extremes = {-100f, -30f, -10f, 0f, 10f, 30f, 100f};
        for (int j = 0; j < extremes.length; j++) gu[j] = extremes[j];  // gates of row 0: exp overflow etc.
        float[] ref = new float[rows * inter];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < inter; j++) {
                float g = gu[r * 2 * inter + j], u = gu[r * 2 * inter + inter + j];
                ref[r * inter + j] = (float) (g / (1.0 + Math.exp(-g))) * u;  // CpuForwardPass.silu(g) * u
            }
        long mark = arena().mark();
        try {
            View dgu = bf16In(gu, mis ? 2 : 0, "gu");
            View out = View.poisoned(2L * rows * inter, mis ? 2 : 0, "out");
            ops().swiglu(dgu.view, rows, inter, out.view);
            float[] got = out.bf16s();
            assertElementwise(ref, got, 1e-2, 1e-30, "swiglu " + rows + "x" + inter);
            assertNormwise(ref, got, 5e-3, "swiglu " + rows + "x" + inter);
            out.assertGuards("swiglu out");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- GEMV

    @ParameterizedTest(name = "rows={0} cols={1} misaligned={2}")
    @CsvSource({"1,64,false", "3,136,false", "65,4096,false", "1000,8192,false", "151936,64,false",
                "4099,8192,false", "1000,136,true"})
    void gemvRows(int rows, int cols, boolean mis) {
        Random rnd = new Random(29L * rows + cols);
        float[] w = randomBf16(rnd, (long) rows * cols, 0.05);
        float[] x = gaussian(rnd, cols, 1);
        float[] ref = new float[rows];
        double[] abs = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0, a = 0;
            for (int c = 0; c < cols; c++) {
                double t = (double) w[r * cols + c] * x[c];
                s += t;
                a += Math.abs(t);
            }
            ref[r] = (float) s;
            abs[r] = a;
        }
        long mark = arena().mark();
        try {
            View dw = bf16In(w, mis ? 2 : 0, "W"), dx = f32In(x, mis ? 4 : 0, "x");
            View y = View.poisoned(4L * rows, mis ? 4 : 0, "y");
            ops().gemvRows(dw.view, dx.view, rows, cols, y.view);
            float[] got = y.floats();
            for (int r = 0; r < rows; r++) {
                float g = got[r];
                // fp32 summation: error well under 1e-5 of sum |w x|
                if (!(Math.abs(g - ref[r]) <= 1e-5 * abs[r] + 1e-30))
                    fail("gemv y[" + r + "] = " + g + ", want " + ref[r] + " (sum |w x| = " + abs[r] + ")");
            }
            assertNormwise(ref, got, 1e-5, "gemv " + rows + "x" + cols);
            y.assertGuards("gemv y");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- log-softmax + top-k

    @ParameterizedTest(name = "vocab={0} k={1} kind={2}")
    @CsvSource({"1,1,normal", "1,5,normal", "5,20,normal", "64,64,normal", "1000,1,normal", "1000,20,normal",
                "151936,64,normal", "151936,5,normal", "1000,64,ties", "151936,64,ties", "300,10,equal",
                "200,6,zeros", "151936,20,huge", "70000,64,ties"})
    void logSoftmaxTopK(int vocab, int k, String kind) {
        Random rnd = new Random(31L * vocab + k + kind.hashCode());
        float[] z = new float[vocab];
        switch (kind) {
            case "normal" -> { for (int i = 0; i < vocab; i++) z[i] = (float) (3 * rnd.nextGaussian()); }
            case "ties" -> { for (int i = 0; i < vocab; i++) z[i] = Math.round(4 * rnd.nextGaussian()) / 2f; }
            case "equal" -> java.util.Arrays.fill(z, 1.5f);
            case "huge" -> { for (int i = 0; i < vocab; i++) z[i] = (float) (1000 * rnd.nextGaussian()); }
            case "zeros" -> {  // -0 and +0 tie (their log-probabilities are equal), behind two 1.0s
                for (int i = 0; i < vocab; i++) z[i] = -5f - rnd.nextInt(3);
                z[150] = 1f;
                z[40] = 1f;
                int[] zeros = {3, 7, 11, 20, 21, 90};
                for (int j = 0; j < zeros.length; j++) z[zeros[j]] = j % 2 == 0 ? -0.0f : 0.0f;
            }
            default -> throw new IllegalArgumentException(kind);
        }
        double[] lp = TokenLogprobs.logSoftmax(z);
        int[] want = TokenLogprobs.largest(lp, k);
        int m = want.length;
        long mark = arena().mark();
        try {
            View dz = f32In(z, 0, "logits");
            View ids = View.poisoned(4L * m, 0, "ids"), lps = View.poisoned(4L * m, 0, "logProbs");
            int written = ops().logSoftmaxTopK(dz.view, vocab, k, ids.view, lps.view);
            assertEquals(m, written, "entries written");
            int[] gotIds = new int[m];
            ids.view.download(stream(), gotIds);
            float[] gotLp = lps.floats();
            for (int i = 0; i < m; i++) {
                final int at = i;
                assertEquals(want[i], gotIds[i], () -> kind + " vocab=" + vocab + " k=" + k + ": rank " + at
                        + " id (want " + java.util.Arrays.toString(want) + ", got " + java.util.Arrays.toString(gotIds) + ")");
                double r = lp[want[i]];
                assertTrue(Math.abs(gotLp[i] - r) <= 1e-5 * (1 + Math.abs(r)),
                        () -> kind + ": log-prob of rank " + at + " = " + gotLp[at] + ", want " + r);
            }
            ids.assertGuards("topk ids");
            lps.assertGuards("topk logProbs");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- conversion and fill

    @ParameterizedTest(name = "{0} count={1} misaligned={2}")
    @CsvSource({"F32,1,false", "F32,7,false", "F32,8,false", "F32,1003,false", "F32,1048581,false", "F32,1003,true",
                "F16,1,false", "F16,7,false", "F16,8,false", "F16,1003,false", "F16,1048581,false", "F16,1003,true",
                "BF16,1,false", "BF16,7,false", "BF16,8,false", "BF16,1003,false", "BF16,1048581,false",
                "BF16,1003,true"})
    void convert(ModelKernels.SourceType type, int count, boolean mis) {
        Random rnd = new Random(37L * count + type.ordinal());
        float[] value = new float[count];   // the exact value of each source element
        short[] src16 = null;
        float[] src32 = null;
        switch (type) {
            case F32 -> {
                src32 = new float[count];
                float[] special = {0f, -0f, 1f, -1f, 65504f, 3.3895314e38f, Float.MAX_VALUE, -Float.MAX_VALUE,
                        Float.MIN_NORMAL, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                        Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000),
                        Float.intBitsToFloat(0xBF80FFFF), Float.intBitsToFloat(0x3F7FFFFF)};
                for (int i = 0; i < count; i++) {
                    if (i < special.length) src32[i] = special[i];
                    else {  // normal floats of magnitude 2^-30 .. 2^30, any mantissa
                        int bits = (rnd.nextInt(2) << 31) | ((97 + rnd.nextInt(61)) << 23) | rnd.nextInt(1 << 23);
                        src32[i] = Float.intBitsToFloat(bits);
                    }
                    value[i] = src32[i];
                }
            }
            case F16 -> {
                src16 = new short[count];
                for (int i = 0; i < count; i++) {
                    int bits;
                    do bits = rnd.nextInt(1 << 16); while (((bits >> 10) & 0x1F) == 0x1F);  // no inf / NaN
                    if (i == 0) bits = 0x8000;  // -0
                    if (i == 1) bits = 0x7BFF;  // 65504
                    if (i == 2) bits = 0x0001;  // smallest subnormal
                    src16[i] = (short) bits;
                    value[i] = halfToFloat(src16[i]);
                }
            }
            case BF16 -> {
                src16 = new short[count];
                for (int i = 0; i < count; i++) {
                    int bits, exp;
                    do {
                        bits = rnd.nextInt(1 << 16);
                        exp = (bits >> 7) & 0xFF;
                    } while (exp == 0xFF || (exp == 0 && (bits & 0x7F) != 0));  // no inf / NaN / subnormal
                    src16[i] = (short) bits;
                    value[i] = Bf16.toFloat(src16[i]);
                }
            }
        }
        long mark = arena().mark();
        try {
            int srcOff = mis ? type.bytes() : 0;
            View src = type == ModelKernels.SourceType.F32 ? f32In(src32, srcOff, "src") : shortsIn(src16, srcOff, "src");
            View to16 = View.poisoned(2L * count, mis ? 2 : 0, "bf16"), to32 = View.poisoned(4L * count, mis ? 4 : 0, "f32");
            ModelKernels ops = ops();
            ops.convertToBf16(src.view, type, count, to16.view);
            ops.convertToF32(src.view, type, count, to32.view);
            short[] got16 = new short[count];
            to16.view.download(stream(), got16);
            float[] got32 = to32.floats();
            for (int i = 0; i < count; i++) {
                short want16 = type == ModelKernels.SourceType.BF16 ? src16[i] : Bf16.fromFloat(value[i]);
                if (got16[i] != want16)
                    fail(type + " -> bf16 [" + i + "]: got 0x" + Integer.toHexString(got16[i] & 0xFFFF) + " want 0x"
                            + Integer.toHexString(want16 & 0xFFFF) + " (value " + value[i] + ")");
                if (Float.floatToRawIntBits(got32[i]) != Float.floatToRawIntBits(value[i]))
                    fail(type + " -> f32 [" + i + "]: got " + got32[i] + " want " + value[i]);
            }
            to16.assertGuards("convert bf16");
            to32.assertGuards("convert f32");
        } finally {
            arena().reset(mark);
        }
    }

    @ParameterizedTest(name = "count={0} misaligned={1}")
    @CsvSource({"1,false", "7,false", "8,false", "1001,false", "1048579,false", "1001,true", "7,true"})
    void fillF32(int count, boolean mis) {
        float value = -1.2345e-3f * count;
        long mark = arena().mark();
        try {
            View x = View.poisoned(4L * count, mis ? 4 : 0, "x");
            ops().fillF32(x.view, count, value);
            float[] got = x.floats();
            for (int i = 0; i < count; i++)
                if (got[i] != value) fail("x[" + i + "] = " + got[i] + ", want " + value);
            x.assertGuards("fill x");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- 64-bit indexing

    /**
     * Element offsets past 2^31: Q of 18 heads x 1M tokens x 128 (2.3e9 elements) written by
     * rope_split_k and read back by heads_to_rows_k near the last position; fill_f32_k over 2^31 + 37
     * floats. Needs ~9 GB of free device memory (skipped otherwise).
     */
    @Test
    void indicesPastTwoToThe31() {
        long need = 9L << 30;
        Assumptions.assumeTrue(device().freeMemory() > need + (4L << 30), "needs ~13 GB of free device memory");
        int H = 18, Hkv = 1, d = 128, n = 1_000_000, rows = 65, row0 = n - rows - 1, S = H + 2 * Hkv;
        assertTrue((long) (H - 1) * n * d > Integer.MAX_VALUE);
        Random rnd = new Random(41);
        float[] qkv = gaussian(rnd, rows * S * d, 1);
        double[] inv = RopeFrequencies.unscaled(d, 500000);
        try (DeviceArena big = new DeviceArena(device(), need)) {
            ModelKernels ops = ops();
            DeviceBuffer dqkv = big.alloc(4L * qkv.length, "qkv"), dinv = big.alloc(8L * inv.length, "inv");
            dqkv.upload(stream(), qkv);
            ops.uploadDoubles(dinv, inv);
            DeviceBuffer q = big.alloc(2L * H * n * d, "Q"), k = big.alloc(2L * Hkv * n * d, "K"),
                         v = big.alloc(2L * Hkv * n * d, "V"), out = big.alloc(2L * rows * H * d, "out");
            for (DeviceBuffer b : new DeviceBuffer[] {q, k, v, out}) b.fill32(stream(), POISON);
            ops.ropeSplit(dqkv, null, dinv, rows, row0, n, H, Hkv, d, q, k, v);
            RopeRef ref = new RopeRef(qkv, null, inv, H, Hkv, d, row0);
            checkHeadMajor(q, H, n, d, row0, rows, 0, ref, "Q");
            checkHeadMajor(k, Hkv, n, d, row0, rows, H, ref, "K");
            checkHeadMajor(v, Hkv, n, d, row0, rows, H + Hkv, ref, "V");
            ops.headsToRows(q, H, n, d, row0, rows, out);
            short[] got = new short[rows * H * d];
            out.download(stream(), got);
            for (int h = 0; h < H; h++) {
                short[] qh = new short[rows * d];
                q.slice(2L * ((long) h * n + row0) * d, 2L * qh.length, "Qh").download(stream(), qh);
                for (int r = 0; r < rows; r++)
                    for (int e = 0; e < d; e++)
                        if (got[r * H * d + h * d + e] != qh[r * d + e])
                            fail("headsToRows past 2^31: out[" + r + ", " + h + "*d+" + e + "]");
            }
            big.reset(0);
            long count = (1L << 31) + 37;
            DeviceBuffer x = big.alloc(4L * count + GUARD, "x");
            x.fill32(stream(), POISON);
            ops.fillF32(x, count, 2.5f);
            for (long at : new long[] {0, (1L << 31) - 1000, count - 1000}) {
                float[] part = new float[1000];
                x.slice(4 * at, 4000, "part").download(stream(), part);
                for (int i = 0; i < part.length; i++)
                    if (part[i] != 2.5f) fail("fill past 2^31: x[" + (at + i) + "] = " + part[i]);
            }
            float[] after = new float[GUARD / 4];
            x.slice(4 * count, GUARD, "guard").download(stream(), after);
            for (float f : after) assertTrue(Float.isNaN(f), "fill wrote past count");
        }
    }

    // ---------------------------------------------------------------- argument checks

    @Test
    void rejectsBadArguments() {
        ModelKernels ops = ops();
        long mark = arena().mark();
        try {
            DeviceBuffer small = arena().alloc(64, "small"), big = arena().alloc(1 << 20, "big");
            assertThrows(IllegalArgumentException.class, () -> ops.rmsNormF32(big, big, 2, 60, 1e-6f, big), "dim % 8");
            assertThrows(IllegalArgumentException.class, () -> ops.rmsNormF32(small, big, 2, 64, 1e-6f, big), "x size");
            assertThrows(IllegalArgumentException.class, () -> ops.swiglu(big, 3, 64, small), "out size");
            assertThrows(IllegalArgumentException.class,
                    () -> ops.ropeSplit(big, null, big, 3, 9, 10, 1, 1, 64, big, big, big), "row0 + rows > n");
            assertThrows(IllegalArgumentException.class,
                    () -> ops.ropeSplit(big, null, big, 1, 0, 1, 1, 1, 72, big, big, big), "d % 16");
            assertThrows(IllegalArgumentException.class, () -> ops.logSoftmaxTopK(big, 100, 65, big, big), "k > 64");
            assertThrows(IllegalArgumentException.class, () -> ops.gemvRows(small, big, 100, 64, big), "W size");
            assertThrows(IllegalArgumentException.class,
                    () -> ops.convertToBf16(small, ModelKernels.SourceType.F32, 17, big), "src size");
            assertThrows(IllegalArgumentException.class, () -> ops.fillF32(small, 17, 0f), "x size");
        } finally {
            arena().reset(mark);
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * A view of `bytes` bytes at byte `offset` of an allocation poisoned with NaN; the bytes before
     * the view (offset) and GUARD bytes after it must stay poisoned.
     */
    private record View(DeviceBuffer whole, DeviceBuffer view, long offset, long bytes) {
        static View poisoned(long bytes, long offset, String label) {
            long total = (offset + bytes + GUARD + 3) / 4 * 4;
            DeviceBuffer whole = arena().alloc(total, label);
            whole.fill32(stream(), POISON);
            return new View(whole, whole.slice(offset, bytes, label), offset, bytes);
        }

        float[] floats() {
            float[] f = new float[Math.toIntExact(bytes / 4)];
            view.download(stream(), f);
            return f;
        }

        float[] bf16s() {
            short[] s = new short[Math.toIntExact(bytes / 2)];
            view.download(stream(), s);
            return Bf16.toFloats(s);
        }

        void assertGuards(String what) {
            short[] before = new short[Math.toIntExact(offset / 2)];
            if (before.length > 0) whole.slice(0, offset, "before").download(stream(), before);
            long tail = whole.bytes() - offset - bytes;
            short[] after = new short[Math.toIntExact(tail / 2)];
            whole.slice(offset + bytes, tail, "after").download(stream(), after);
            for (short s : before) assertEquals(POISON16, s, what + ": written before the start of the output");
            for (short s : after) assertEquals(POISON16, s, what + ": written past the end of the output");
        }
    }

    private static View f32In(float[] v, long offset, String label) {
        View w = View.poisoned(4L * v.length, offset, label);
        w.view.upload(stream(), v);
        return w;
    }

    private static View intsIn(int[] v, long offset, String label) {
        View w = View.poisoned(4L * v.length, offset, label);
        w.view.upload(stream(), v);
        return w;
    }

    private static View shortsIn(short[] v, long offset, String label) {
        View w = View.poisoned(2L * v.length, offset, label);
        w.view.upload(stream(), v);
        return w;
    }

    private static View bf16In(float[] v, long offset, String label) { return shortsIn(Bf16.fromFloats(v), offset, label); }

    /** IEEE half -> float, exact (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF, exp = (bits >> 10) & 0x1F, mant = bits & 0x3FF;
        float sign = (bits >> 15) != 0 ? -1f : 1f;  // a float, so that -1f * 0 gives -0
        if (exp == 0x1F) return mant == 0 ? sign * Float.POSITIVE_INFINITY : Float.NaN;
        if (exp == 0) return sign * mant * 0x1p-24f;  // subnormal: mant * 2^-24 (exact), and signed zero
        return sign * (1 + mant * 0x1p-10f) * (float) Math.scalb(1.0, exp - 15);
    }

    /** Every element finite and |got - ref| <= rel |ref| + abs. */
    private static void assertElementwise(float[] ref, float[] got, double rel, double abs, String what) {
        assertEquals(ref.length, got.length, what);
        for (int i = 0; i < ref.length; i++) {
            float g = got[i];
            if (!Float.isFinite(g)) fail(what + ": element " + i + " not written or not finite");
            if (!(Math.abs(g - ref[i]) <= rel * Math.abs(ref[i]) + abs))
                fail(what + ": element " + i + " = " + g + ", want " + ref[i]);
        }
    }

    /** ||got - ref|| / ||ref|| < rel. */
    private static void assertNormwise(float[] ref, float[] got, double rel, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double e = (double) got[i] - ref[i];
            num += e * e;
            den += (double) ref[i] * ref[i];
        }
        double r = Math.sqrt(num / Math.max(den, 1e-300));
        assertTrue(r < rel, () -> what + ": relative error " + r);
    }

    /** count fp32 values drawn from N(0, sigma^2), in order. */
    private static float[] gaussian(Random rnd, int count, double sigma) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float) (rnd.nextGaussian() * sigma);
        return x;
    }
}
