package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.RangePlan;
import io.prefill.sparse.VerticalSlashEstimator;
import io.prefill.sparse.VerticalSlashIndex;
import java.util.Arrays;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Tag("gpu")
class VerticalSlashGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3} v={4} s={5}")
    @CsvSource({
        "1,1,1,64,1000,6096", "2,1,63,128,1000,6096", "4,1,65,64,40,60", "8,2,1000,128,100,200",
        "8,8,1000,64,1000,6096", "8,1,1500,128,64,300", "4,4,4097,128,200,500"})
    void estimatePlanAndAttentionMatchCpu(int heads, int kvHeads, int n, int d, int vSize, int sSize) {
        Random rnd = new Random(7L * n + d + heads);
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0),
                v = randomBf16(rnd, s.kvElements(), 1.0);
        runAndCheck(s, q, k, v, vSize, sSize, null, null);
    }

    /** Planted vertical lines and diagonals must be found. */
    @Test
    void plantedPatternsAreSelected() {
        int heads = 4, kvHeads = 1, n = 3000, d = 128;
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(99);
        float[] q = randomBf16(rnd, s.qElements(), 0.3), k = randomBf16(rnd, s.kvElements(), 0.3),
                v = randomBf16(rnd, s.kvElements(), 1.0);
        int[] plantedCols = {137, 1001, 2222, 2500};
        int[] plantedOffs = {333, 1200};
        // a column: key aligned with the mean of every head's last queries
        for (int c : plantedCols)
            for (int x = 0; x < d; x++) {
                float m = 0;
                for (int h = 0; h < heads; h++) for (int a = n - 64; a < n; a++) m += q[(h * n + a) * d + x];
                k[c * d + x] = Bf16.round(m / (heads * 64) * 40f);
            }
        // a diagonal o: key j is aligned with query j + o of every head
        for (int o : plantedOffs)
            for (int i = n - 64; i < n; i++)
                for (int x = 0; x < d; x++) {
                    float m = 0;
                    for (int h = 0; h < heads; h++) m += q[(h * n + i) * d + x];
                    k[(i - o) * d + x] = Bf16.round(m / heads * 4f);
                }
        runAndCheck(s, q, k, v, 60, 120, plantedCols, plantedOffs);
    }

    static void runAndCheck(AttentionShape s, float[] q, float[] k, float[] v, int vSize, int sSize,
                            int[] mustCols, int[] mustOffs) {
        int n = s.seqLen(), d = s.headDim(), heads = s.heads(), group = heads / s.kvHeads();
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer dq = upload(q, "q"), dk = upload(k, "k"), dv = upload(v, "v");
            VerticalSlashGpu vs = new VerticalSlashGpu(module(), stream(), arena);
            int[] vb = new int[heads], sb = new int[heads];
            Arrays.fill(vb, vSize);
            Arrays.fill(sb, sSize);
            VsSelection sel = vs.estimate(dq, dk, s, vb, sb);
            int[][] gCols = sel.downloadColumns(stream()), gOffs = sel.downloadOffsets(stream());
            DevicePlan plan = vs.plan(sel, n);
            HostPlan hostPlan = plan.download(stream());
            BlockPlan[] cpuPlans = new BlockPlan[heads];
            for (int h = 0; h < heads; h++) {
                // the project's CPU planner is the spec: same selection (up to fp32 near-ties at
                // the budget's edge, see assertSameTopK) and exactly the same plan
                VerticalSlashEstimator.Scores sc = VerticalSlashEstimator.scores(head(q, h, n, d), head(k, h / group, n, d), n, d);
                VerticalSlashIndex cpu = VerticalSlashEstimator.select(sc, n, vSize, sSize);
                assertSameTopK(sc.vertical(), VerticalSlashEstimator.FORCED_COLUMNS, cpu.columns(), gCols[h], "columns head " + h + " " + s);
                assertSameTopK(sc.slash(), VerticalSlashEstimator.FORCED_OFFSETS, cpu.offsets(), gOffs[h], "offsets head " + h + " " + s);
                if (mustCols != null) for (int c : mustCols) assertTrue(Arrays.binarySearch(gCols[h], c) >= 0, "planted column " + c);
                if (mustOffs != null) for (int o : mustOffs) assertTrue(Arrays.binarySearch(gOffs[h], o) >= 0, "planted offset " + o);
                cpuPlans[h] = RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(gCols[h], gOffs[h]));
                assertSamePlan(cpuPlans[h], hostPlan.head(h), "head " + h + " " + s);
            }
            PlanAttentionGpuTest.check(s, q, k, v, cpuPlans, true);
        } finally {
            arena.reset(mark);
        }
    }

    /**
     * Uploaded selections, lengths that are and are not multiples of 64: the device plan (and its
     * cost without the plan) equals the CPU planner's, in particular in the last, partial query
     * block, where every diagonal keeps its whole 64-key band, and where ranges grow in whole
     * bands over gaps of less than a band (MInference's index builder).
     */
    @ParameterizedTest(name = "n={0}")
    @CsvSource({"63", "644", "704", "4100", "7748", "8192"})
    void uploadedSelectionsGiveTheCpuPlan(int n) {
        Random rnd = new Random(n);
        int[][] cols = {
            {10, 636}, {}, sortedSample(rnd, n, 1000), sortedSample(rnd, n, 30), sortedSample(rnd, n, 200),
            sortedSample(rnd, n, 40)};
        int[][] offs = {
            {0, 70, 100}, {0, 200}, withZero(sortedSample(rnd, n, 6096)), clustered(rnd, n),
            sortedSample(rnd, n, 300), {100}};  // the last one without offset 0: columns past the last range
        for (int h = 0; h < cols.length; h++) {
            cols[h] = Arrays.stream(cols[h]).filter(c -> c < n).toArray();
            offs[h] = Arrays.stream(offs[h]).filter(o -> o < n).toArray();
            if (offs[h].length == 0) offs[h] = new int[] {0};
        }
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            VerticalSlashGpu vs = new VerticalSlashGpu(module(), stream(), arena);
            VsSelection sel = VsSelection.upload(cols, offs, arena, stream());
            long[] cost = vs.cost(sel, n);
            HostPlan host = vs.plan(sel, n).download(stream());
            for (int h = 0; h < cols.length; h++) {
                RangePlan cpu = RangePlan.fromVerticalSlash(n, new VerticalSlashIndex(cols[h], offs[h]));
                assertSamePlan(cpu, host.head(h), "selection " + h + ", n=" + n);
                assertEquals(cpu.computedEntries(), cost[h], "cost of selection " + h + ", n=" + n);
            }
        } finally {
            arena.reset(mark);
        }
    }

    private static int[] sortedSample(Random rnd, int bound, int count) {
        TreeSet<Integer> picked = new TreeSet<>();
        while (picked.size() < Math.min(count, bound)) picked.add(rnd.nextInt(bound));
        return picked.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int[] withZero(int[] offsets) {
        TreeSet<Integer> all = new TreeSet<>();
        for (int o : offsets) all.add(o);
        all.add(0);
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Offsets 0..99 plus runs of near diagonals with gaps of 40 to 140 keys between them. */
    private static int[] clustered(Random rnd, int n) {
        TreeSet<Integer> all = new TreeSet<>();
        for (int o = 0; o < Math.min(100, n); o++) all.add(o);
        for (int o = 100; o < n; ) {
            int run = 1 + rnd.nextInt(30);
            for (int t = 0; t < run && o + t < n; t++) all.add(o + t);
            o += run + 40 + rnd.nextInt(100);
        }
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * GPU and CPU top-k agree, except where fp32 summation order can flip a near tie at the
     * budget's edge: every index chosen by only one side must score within 1e-4 of the k-th score.
     */
    static void assertSameTopK(float[] cpuScore, int forced, int[] cpu, int[] gpu, String what) {
        assertEquals(cpu.length, gpu.length, what + ": count");
        if (Arrays.equals(cpu, gpu)) return;
        int k = cpu.length;
        float[] sorted = new float[cpuScore.length];
        for (int i = 0; i < sorted.length; i++) sorted[i] = i < forced ? Float.POSITIVE_INFINITY : cpuScore[i];
        float[] copy = sorted.clone();
        Arrays.sort(copy);
        float kth = copy[copy.length - k];
        TreeSet<Integer> diff = new TreeSet<>();
        for (int c : cpu) if (Arrays.binarySearch(gpu, c) < 0) diff.add(c);
        for (int g : gpu) if (Arrays.binarySearch(cpu, g) < 0) diff.add(g);
        for (int i : diff)
            assertTrue(Math.abs(sorted[i] - kth) <= 1e-4 * Math.abs(kth) + 1e-9,
                    what + ": index " + i + " chosen by one side only, score " + sorted[i] + " vs k-th " + kth);
        assertTrue(diff.size() <= 4, what + ": too many near-tie differences " + diff);
        System.out.println("[near-tie] " + what + ": GPU and CPU differ at " + diff + " (k-th score " + kth + ")");
    }

    static void assertSamePlan(BlockPlan cpu, BlockPlan gpu, String what) {
        assertEquals(cpu.numQueryBlocks(), gpu.numQueryBlocks(), what);
        for (int qb = 0; qb < cpu.numQueryBlocks(); qb++) {
            assertArrayEquals(CpuReference.normalizedRanges(cpu.ranges(qb)), CpuReference.normalizedRanges(gpu.ranges(qb)),
                    what + ": ranges of block " + qb);
            assertArrayEquals(cpu.columns(qb), gpu.columns(qb), what + ": columns of block " + qb);
        }
        assertEquals(cpu.computedEntries(), gpu.computedEntries(), what + ": computed entries");
    }
}
