package io.prefill.cuda.forward;

import static io.prefill.cuda.forward.ForwardGpuFixtures.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.cpu.PlanAttention;
import io.prefill.cuda.AttentionShape;
import io.prefill.cuda.Bf16;
import io.prefill.cuda.CudaDevice;
import io.prefill.cuda.CudaStream;
import io.prefill.cuda.DeviceArena;
import io.prefill.cuda.DeviceBuffer;
import io.prefill.cuda.KernelModule;
import io.prefill.engine.AttentionStats;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.HeadPlanner;
import io.prefill.sparse.KeptMass;
import io.prefill.sparse.PatternConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A layer whose heads mix all the patterns, on identical bf16 inputs: the GPU computes exactly
 * the entries the CPU planner chooses head by head (the merged plan loses and adds nothing), the
 * outputs agree within bf16 rounding, and so does the certificate. Q is also the output buffer, as in the forward pass.
 */
@Tag("gpu")
class LayerAttentionGpuTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3} withBlockSparse={4}")
    @CsvSource({"8,2,1500,64,true", "8,2,1500,64,false", "4,1,2049,128,true", "8,8,700,128,true", "4,4,3000,64,false"})
    void mixedPatternsComputeWhatTheCpuPlannerChooses(int heads, int kvHeads, int n, int d, boolean withBlockSparse) {
        HeadPattern[] choices = withBlockSparse
                ? new HeadPattern[] {new HeadPattern.VerticalSlash(40, 100), new HeadPattern.BlockSparse(3),
                    new HeadPattern.AShape(0, 150), new HeadPattern.Dense(), new HeadPattern.BlockSparse(6)}
                : new HeadPattern[] {new HeadPattern.VerticalSlash(40, 100), new HeadPattern.AShape(64, 128),
                    new HeadPattern.VerticalSlash(200, 60), new HeadPattern.Dense(), new HeadPattern.Adaptive(0.9, 30, 600)};
        List<HeadPattern> layer = new ArrayList<>();
        for (int h = 0; h < heads; h++) layer.add(choices[h % choices.length]);
        PatternConfig patterns = new PatternConfig("t", 1, heads, 0, List.of(layer));
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(n * 31L + heads);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0), v = randomBf16(rnd, s.kvElements(), 1.0);

        CudaDevice device = CudaDevice.open(0);
        KernelModule module = KernelModule.of(device);
        try (CudaStream stream = new CudaStream(device); DeviceArena arena = new DeviceArena(device, 512L << 20);
             StageClock clock = new StageClock(stream, false)) {
            DeviceBuffer dq = upload(arena, stream, q), dk = upload(arena, stream, k), dv = upload(arena, stream, v);
            long mark = arena.mark();
            AttentionStats stats = new LayerAttention(module, stream, patterns, clock, null, 0).run(0, dq, dk, dv, dq, s, arena);
            assertEquals(mark, arena.mark(), "planning scratch released");
            short[] raw = new short[(int) s.qElements()];
            dq.download(stream, raw);
            float[] got = Bf16.toFloats(raw);

            long entries = 0;
            double minKept = Double.POSITIVE_INFINITY, sumKept = 0;
            int group = heads / kvHeads;
            for (int h = 0; h < heads; h++) {
                float[] qh = head(q, h, n, d), kh = head(k, h / group, n, d), vh = head(v, h / group, n, d);
                BlockPlan plan = HeadPlanner.plan(layer.get(h), 0, qh, kh, n, d);
                entries += plan.computedEntries();
                if (!(layer.get(h) instanceof HeadPattern.Dense)) {
                    double kept = KeptMass.ofLastQueries(qh, kh, n, d, plan);
                    minKept = Math.min(minKept, kept);
                    sumKept += kept;
                }
                float[] ref = new float[n * d];
                PlanAttention.attend(qh, kh, vh, n, d, plan, ref);
                assertClose(ref, got, h * n * d, "head " + h + " " + layer.get(h));
            }
            assertEquals(entries, stats.computedEntries(), "entries computed by the merged plan");
            int sparse = (int) layer.stream().filter(p -> !(p instanceof HeadPattern.Dense)).count();
            assertEquals(sparse, stats.sparseHeadRuns());
            assertEquals(sparse, stats.kept().heads(), "every sparse head certified");
            assertEquals(minKept, stats.kept().min(), 2e-3, "smallest kept mass");
            assertEquals(sumKept / sparse, stats.kept().mean(), 2e-3, "mean kept mass");
        }
    }


    private static void assertClose(float[] ref, float[] got, int off, String what) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            float g = got[off + i];
            assertTrue(Float.isFinite(g), what + ": element " + i + " not written");
            num += (g - ref[i]) * (double) (g - ref[i]);
            den += (double) ref[i] * ref[i];
        }
        double rel = Math.sqrt(num / den);
        assertTrue(rel < 1e-2, what + ": relative error " + rel);
    }
}
