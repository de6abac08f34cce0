package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.BlockSparseEstimator;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.VerticalSlashIndex;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Tag("gpu")
class BlockSparseAndAShapeGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3} top={4}")
    @CsvSource({"1,1,1,64,100", "2,1,65,128,1", "4,1,1000,64,3", "8,2,1000,128,5", "8,8,4097,128,7", "4,4,2000,64,100"})
    void blockSparsePlanAndAttentionMatchCpu(int heads, int kvHeads, int n, int d, int top) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(5L * n + d + heads + top);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0),
                v = randomBf16(rnd, s.kvElements(), 1.0);
        int group = heads / kvHeads;
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DevicePlan plan = new BlockSparseGpu(module(), stream(), arena).plan(upload(q, "q"), upload(k, "k"), s, top);
            HostPlan got = plan.download(stream());
            BlockPlan[] cpu = new BlockPlan[heads];
            for (int h = 0; h < heads; h++) {
                // the project's CPU planner; the GPU follows its float/double arithmetic exactly
                cpu[h] = RangePlan.fromKeyBlocks(n,
                        BlockSparseEstimator.topKeyBlocks(head(q, h, n, d), head(k, h / group, n, d), n, d, top));
                VerticalSlashGpuTest.assertSamePlan(cpu[h], got.head(h), "block-sparse head " + h + " " + s);
            }
            PlanAttentionGpuTest.check(s, q, k, v, cpu, true);
        } finally {
            arena.reset(mark);
        }
    }

    /**
     * Plans only, at shapes with many 64 x 64 score tiles and a partial last block, with the score
     * keys in one pass and in passes of one row tile each: both give the CPU planner's plan. With
     * identical key rows every block score of a query block ties, and the lowest blocks win.
     */
    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3} top={4} tiedKeys={5}")
    @CsvSource({"4,2,19217,128,100,false", "2,1,12800,64,37,false", "2,2,8257,128,20,true"})
    void blockSparsePlanMatchesCpuInOneAndManyPasses(int heads, int kvHeads, int n, int d, int top, boolean tiedKeys) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(7L * n + d + top);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0);
        if (tiedKeys)
            for (int r = 1; r < n * kvHeads; r++) System.arraycopy(k, 0, k, r * d, d);
        int group = heads / kvHeads, nqb = s.queryBlocks();
        BlockPlan[] cpu = new BlockPlan[heads];
        for (int h = 0; h < heads; h++) {
            int[][] kept = BlockSparseEstimator.topKeyBlocks(head(q, h, n, d), head(k, h / group, n, d), n, d, top);
            cpu[h] = RangePlan.fromKeyBlocks(n, kept);
            if (tiedKeys)  // the lowest blocks win every tie: block b keeps 0 .. take-2 and itself
                for (int b = 0; b < nqb; b++) {
                    int take = BlockSparseEstimator.keptBlocks(top, b);
                    int[] want = java.util.stream.IntStream.concat(java.util.stream.IntStream.range(0, take - 1),
                            java.util.stream.IntStream.of(b)).distinct().toArray();
                    assertArrayEquals(want, kept[b], "CPU tie order, head " + h + ", block " + b);
                }
        }
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer qd = upload(q, "q"), kd = upload(k, "k");
            BlockSparseGpu bs = new BlockSparseGpu(module(), stream(), arena);
            for (long bound : new long[] {Long.MAX_VALUE / 4, 4L * 64 * nqb}) {
                HostPlan got = bs.plan(qd, kd, s, top, bound).download(stream());
                for (int h = 0; h < heads; h++)
                    VerticalSlashGpuTest.assertSamePlan(cpu[h], got.head(h),
                            "block-sparse head " + h + " " + s + ", " + BlockSparseGpu.passes(heads, nqb, bound).size() + " passes");
            }
        } finally {
            arena.reset(mark);
        }
    }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3} init={4} local={5}")
    @CsvSource({"1,1,1,64,4,64", "2,1,63,128,128,4096", "4,1,1000,64,16,100", "8,2,3000,128,128,1000", "4,4,4097,64,30,700"})
    void aShapePlanAndAttentionMatchCpu(int heads, int kvHeads, int n, int d, int nInit, int nLocal) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(3L * n + d + heads);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0),
                v = randomBf16(rnd, s.kvElements(), 1.0);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            HostPlan got = new VerticalSlashGpu(module(), stream(), arena).aShape(heads, n, nInit, nLocal).download(stream());
            BlockPlan cpu = RangePlan.fromVerticalSlash(n, VerticalSlashIndex.aShape(n, nInit, nLocal));
            BlockPlan[] plans = new BlockPlan[heads];
            for (int h = 0; h < heads; h++) {
                plans[h] = cpu;
                VerticalSlashGpuTest.assertSamePlan(cpu, got.head(h), "a-shape head " + h + " " + s);
                // every A-shape entry (j < nInit or i - j < nLocal) is in the plan; the plan may hold
                // more, since a slash covers whole 64-row blocks: keys [r0 - o, r1 - 1 - o]
                for (int i = 0; i < n; i += Math.max(1, n / 97))
                    for (int j = 0; j <= i; j++)
                        if (j < nInit || i - j < nLocal)
                            org.junit.jupiter.api.Assertions.assertTrue(cpu.contains(i, j), "a-shape entry " + i + "," + j);
            }
            PlanAttentionGpuTest.check(s, q, k, v, plans, true);
        } finally {
            arena.reset(mark);
        }
    }
}
