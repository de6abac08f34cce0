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
                float[] kh = head(k, g, n, d), vh = head(v, g, n, d);
                int[] want = cpu.select(groupQ, kh, n, d);
                HeadKv h = got[g];
                assertEquals(want.length, h.kept(), "kept positions of KV head " + g);
                // fp32 votes on the GPU, double on the CPU: allow a rare swap at the top-k boundary
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
        }
    }

    @Test
    void theForwardPassProducesTheCpuBackendsSummary() {
        TinyModelSpec spec = llama64();
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
                    }
            }
        }
    }

    private static short bf16At(byte[] b, int i) { return (short) ((b[2 * i] & 0xFF) | (b[2 * i + 1] << 8)); }

}
