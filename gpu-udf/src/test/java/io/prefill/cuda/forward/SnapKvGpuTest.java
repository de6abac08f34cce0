package io.prefill.cuda.forward;

import static io.prefill.cuda.forward.ForwardGpuFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cpu.CpuForwardPass;
import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.Bf16;
import io.prefill.cuda.CudaDevice;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.KernelModule;
import io.prefill.kv.HeadKv;
import io.prefill.kv.KvSummary;
import io.prefill.kv.KvSummaryOptions;
import io.prefill.kv.SnapKvSelector;
import io.prefill.model.TinyModelSpec;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The KV summary's selection on the GPU against io.prefill.kv.SnapKvSelector. */
@Tag("gpu")
class SnapKvGpuTest {
    @TempDir
    Path dir;

    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3} window={4} topK={5} pooling={6}")
    @CsvSource({"8,2,3000,64,32,256,MAX", "4,1,5000,128,16,1024,AVG", "4,4,700,64,32,1024,MAX", "8,8,2100,128,1,100,MAX"})
    void selectsThePositionsTheCpuSelectorSelects(int heads, int kvHeads, int n, int d, int window, int topK, String pooling) {
        KvSummaryOptions o = new KvSummaryOptions(window, topK, 4, 7, KvSummaryOptions.Pooling.valueOf(pooling), 1L << 30);
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(n + 17L * d);
        float[] q = randomBf16(rnd, s.qElements(), 1.5), k = randomBf16(rnd, s.kvElements(), 1.5), v = randomBf16(rnd, s.kvElements(), 1.5);
        CudaDevice device = CudaDevice.open(0);
        try (CudaStream stream = new CudaStream(device); DeviceArena arena = new DeviceArena(device, 256L << 20)) {
            DeviceBuffer dq = upload(arena, stream, q), dk = upload(arena, stream, k), dv = upload(arena, stream, v);
            HeadKv[] got = new SnapKvGpu(KernelModule.of(device), stream, o).select(dq, dk, dv, s, arena);
            SnapKvSelector cpu = new SnapKvSelector(o);
            int group = heads / kvHeads;
            for (int g = 0; g < kvHeads; g++) {
                float[][] groupQ = new float[group][];
                for (int x = 0; x < group; x++) groupQ[x] = head(q, g * group + x, n, d);
                assertHeadSummary(got[g], cpu.select(groupQ, head(k, g, n, d), n, d), head(k, g, n, d), head(v, g, n, d), d, g);
            }
        }
    }

    /**
     * Heads of 96 as the forward pass stores them for the kernels of 128 (zero past 96, Q times
     * sqrt(128/96), rounded to bf16): the selection of the cpu's selector at width 96 on the same
     * scores (its Q is the device's divided by the factor), and K/V rows of 96 elements.
     */
    @ParameterizedTest(name = "heads={0} kv={1} n={2} window={3} topK={4} pooling={5}")
    @CsvSource({"8,2,3000,32,256,MAX", "4,4,2100,16,100,AVG"})
    void paddedHeadsGiveRowsOfTheModelsWidth(int heads, int kvHeads, int n, int window, int topK, String pooling) {
        int d = 96, dPad = 128;
        float f = io.prefill.cuda.HeadWidth.of(d).qScale();
        KvSummaryOptions o = new KvSummaryOptions(window, topK, 4, 7, KvSummaryOptions.Pooling.valueOf(pooling), 1L << 30);
        AttentionShape s = new AttentionShape(heads, kvHeads, n, dPad);
        Random rnd = new Random(n + 96L);
        float[] q = randomBf16(rnd, (long) heads * n * d, 1.5), k = randomBf16(rnd, (long) kvHeads * n * d, 1.5),
                v = randomBf16(rnd, (long) kvHeads * n * d, 1.5);
        float[] qDevice = pad(q, heads * n, d, dPad, f), kDevice = pad(k, kvHeads * n, d, dPad, 1f),
                vDevice = pad(v, kvHeads * n, d, dPad, 1f);
        CudaDevice device = CudaDevice.open(0);
        try (CudaStream stream = new CudaStream(device); DeviceArena arena = new DeviceArena(device, 256L << 20)) {
            DeviceBuffer dq = upload(arena, stream, qDevice), dk = upload(arena, stream, kDevice),
                    dv = upload(arena, stream, vDevice);
            HeadKv[] got = new SnapKvGpu(KernelModule.of(device), stream, o).select(dq, dk, dv, s, d, arena);
            SnapKvSelector cpu = new SnapKvSelector(o);
            int group = heads / kvHeads;
            for (int g = 0; g < kvHeads; g++) {
                float[][] groupQ = new float[group][];
                for (int x = 0; x < group; x++) {  // the scores the device computes: bf16(q f) / f at width 96
                    int h = g * group + x;
                    groupQ[x] = new float[n * d];
                    for (int i = 0; i < n * d; i++) groupQ[x][i] = qDevice[(h * n + i / d) * dPad + i % d] / f;
                }
                HeadKv h = got[g];
                assertEquals(2L * h.kept() * d, h.k().length, "K rows of 96 bf16");
                assertEquals(2L * h.kept() * d, h.v().length, "V rows of 96 bf16");
                assertHeadSummary(h, cpu.select(groupQ, head(k, g, n, d), n, d), head(k, g, n, d), head(v, g, n, d), d, g);
            }
        }
    }

    /**
     * KV head g's summary against the cpu's selection `want`: as many positions, all but a rare swap
     * at the top-k boundary the same (fp32 votes on the GPU, double on the CPU), and each kept row's
     * K and V (width d) the head's rows bit for bit.
     */
    private static void assertHeadSummary(HeadKv h, int[] want, float[] kh, float[] vh, int d, int g) {
        assertEquals(want.length, h.kept(), "kept positions of KV head " + g);
        long common = Arrays.stream(h.positions()).filter(p -> Arrays.binarySearch(want, p) >= 0).count();
        assertTrue(common >= want.length - Math.max(1, want.length / 200),
                "KV head " + g + ": " + common + " of " + want.length + " positions agree");
        for (int x = 0; x < h.kept(); x++) {
            int p = h.positions()[x];
            for (int c = 0; c < d; c++) {
                assertEquals(Bf16.fromFloat(kh[p * d + c]), bf16At(h.k(), x * d + c), "K row " + p);
                assertEquals(Bf16.fromFloat(vh[p * d + c]), bf16At(h.v(), x * d + c), "V row " + p);
            }
        }
    }

    /** rows of d values into rows of dPad (zero past d), times f, rounded to bf16. */
    private static float[] pad(float[] x, int rows, int d, int dPad, float f) {
        float[] out = new float[rows * dPad];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < d; c++) out[r * dPad + c] = Bf16.round(x[r * d + c] * f);
        return out;
    }

    @Test
    void theForwardPassProducesTheCpuBackendsSummary() {
        checkForwardSummary(llama64());
    }

    /** Phi-3's head_dim 96, padded on the device: the summary's rows are 96 wide and near the cpu's. */
    @Test
    void theForwardPassProducesTheCpuBackendsSummaryAtHeadDim96() {
        KvSummary got = checkForwardSummary(phi3d96());
        assertEquals(96, got.headDim());
    }

    private KvSummary checkForwardSummary(TinyModelSpec spec) {
        try (ForwardGpuFixtures.Checkpoint m = ForwardGpuFixtures.Checkpoint.write(dir.resolve("m"), spec, 21)) {
            KvSummaryOptions o = new KvSummaryOptions(16, 200, 4, 7, KvSummaryOptions.Pooling.MAX, 1L << 30);
            int[] t = tokens(1500, m.config().vocabSize(), 9);
            KvSummary ref = new CpuForwardPass(m.config(), m.weights(), dense(spec)).forward(t, o).kvSummary();
            try (CudaForwardPass gpu = CudaForwardPass.create(m.config(), m.weights(), dense(spec), CudaBackendOptions.defaults())) {
                KvSummary got = gpu.forward(t, o).kvSummary();
                assertEquals(ref.promptTokens(), got.promptTokens());
                assertEquals(ref.numLayers(), got.numLayers());
                assertEquals(ref.numKvHeads(), got.numKvHeads());
                for (int l = 0; l < ref.numLayers(); l++)
                    for (int g = 0; g < ref.numKvHeads(); g++) {
                        int[] want = ref.head(l, g).positions(), have = got.head(l, g).positions();
                        assertEquals(want.length, have.length);
                        long common = Arrays.stream(have).filter(p -> Arrays.binarySearch(want, p) >= 0).count();
                        // upstream layers differ by bf16 rounding, so near-ties may change: most agree
                        assertTrue(common >= 0.9 * want.length, "layer " + l + " head " + g + ": " + common + "/" + want.length);
                        // the rows of the positions both kept: the cpu's K and V up to bf16 projections upstream
                        int d = spec.headDim();
                        HeadKv a = ref.head(l, g), b = got.head(l, g);
                        assertEquals(2L * have.length * d, b.k().length, "K rows of head_dim " + d);
                        assertEquals(2L * have.length * d, b.v().length, "V rows of head_dim " + d);
                        double num = 0, den = 0;
                        for (int x = 0; x < have.length; x++) {
                            int y = Arrays.binarySearch(want, have[x]);
                            if (y < 0) continue;
                            for (int c = 0; c < d; c++)
                                for (byte[][] kv : new byte[][][] {{a.k(), b.k()}, {a.v(), b.v()}}) {
                                    double w = Bf16.toFloat(bf16At(kv[0], y * d + c)), h = Bf16.toFloat(bf16At(kv[1], x * d + c));
                                    num += (h - w) * (h - w);
                                    den += w * w;
                                }
                        }
                        assertTrue(Math.sqrt(num / den) < 5e-2, "layer " + l + " head " + g + ": K/V rows differ by "
                                + Math.sqrt(num / den));
                    }
                return got;
            }
        }
    }

    private static short bf16At(byte[] b, int i) { return (short) ((b[2 * i] & 0xFF) | (b[2 * i + 1] << 8)); }

}
