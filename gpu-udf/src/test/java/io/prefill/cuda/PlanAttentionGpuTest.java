package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;

import io.prefill.cpu.PlanAttention;
import io.prefill.sparse.BlockPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Attention over random CSR plans: unaligned ranges, gathered columns, empty blocks. */
@Tag("gpu")
class PlanAttentionGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3}")
    @CsvSource({"1,1,1,64", "2,1,63,128", "4,1,65,64", "8,2,1000,128", "8,8,1000,64", "8,1,777,128", "4,4,2049,128"})
    void planAttentionMatchesMaskedReference(int heads, int kvHeads, int n, int d) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(17L * n + d + heads);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0),
                v = randomBf16(rnd, s.kvElements(), 1.0);
        BlockPlan[] plans = new BlockPlan[heads];
        for (int h = 0; h < heads; h++) plans[h] = randomPlan(rnd, n);
        check(s, q, k, v, plans, false);
    }

    /**
     * GPU attention over the plans vs a CPU reference: the project's io.prefill.cpu.PlanAttention
     * (planner-made plans, every row has a key) or the brute-force one here (random plans, which
     * may leave rows empty: those must come out 0).
     */
    static void check(AttentionShape s, float[] q, float[] k, float[] v, BlockPlan[] plans, boolean projectReference) {
        int n = s.seqLen(), d = s.headDim(), heads = s.heads(), group = heads / s.kvHeads();
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer dq = upload(q, "q"), dk = upload(k, "k"), dv = upload(v, "v");
            DevicePlan plan = DevicePlan.upload(HostPlan.of(plans), arena, stream());
            float[][] refs = new float[heads][];
            long entries = 0;
            for (int h = 0; h < heads; h++) {
                BlockPlan p = plans[h];
                entries += p.computedEntries();
                if (projectReference) {
                    refs[h] = new float[n * d];
                    PlanAttention.attend(head(q, h, n, d), head(k, h / group, n, d), head(v, h / group, n, d), n, d, p, refs[h]);
                } else {
                    refs[h] = CpuReference.attention(head(q, h, n, d), head(k, h / group, n, d), head(v, h / group, n, d),
                            n, d, p::contains, CpuReference.allRows(n));
                }
            }
            for (AttentionKernels.Variant variant : new AttentionKernels.Variant[] {
                    AttentionKernels.Variant.PLAN_MMA, AttentionKernels.Variant.PLAN_WGMMA}) {
                DeviceBuffer out = poisoned(s.qElements(), "out");
                attention().use(AttentionKernels.Variant.DENSE_MMA, variant).withPlan(dq, dk, dv, out, s, plan);
                float[] got = downloadBf16(out, s.qElements());
                for (int h = 0; h < heads; h++)
                    assertClose(refs[h], got, h * n * d, "plan attention " + variant + " " + s + " head " + h);
            }
            AttentionKernels attn = attention();
            PairPlan pair = attn.pairPlan(plan, arena);
            checkPairPlan(plans, pair, n);
            for (AttentionKernels.Variant variant : pairVariants()) {
                DeviceBuffer out = poisoned(s.qElements(), "out");
                attn.usePair(variant).withPairPlan(dq, dk, dv, out, s, plan, pair);
                float[] got = downloadBf16(out, s.qElements());
                for (int h = 0; h < heads; h++)
                    assertClose(refs[h], got, h * n * d, "plan attention " + variant + " " + s + " head " + h);
            }
            org.junit.jupiter.api.Assertions.assertEquals(entries, attention().computedEntries(plan, arena),
                    "entries counted on the device");
        } finally {
            arena.reset(mark);
        }
    }

    /**
     * The pair plan against the blocks' own plans: per (head, pair of blocks A, B) its ranges and
     * columns hold exactly the keys of A's plan or B's, no column twice or inside a range, and each
     * column's owner bits say which of A's and B's plans hold it.
     */
    static void checkPairPlan(BlockPlan[] plans, PairPlan pair, int n) {
        DevicePlan u = pair.union();
        int nqb = BlockPlan.blocks(n), pairs = (nqb + 1) / 2, slots = plans.length * pairs;
        int[] rp = new int[slots + 1], cp = new int[slots + 1];
        u.rangePtr().download(stream(), rp);
        u.colPtr().download(stream(), cp);
        int[] rd = new int[Math.max(1, 2 * rp[slots])], cd = new int[Math.max(1, cp[slots])];
        byte[] owners = new byte[Math.max(1, cp[slots])];
        u.rangeData().download(stream(), rd);
        u.colData().download(stream(), cd);
        pair.columnOwners().download(stream(), owners);
        org.junit.jupiter.api.Assertions.assertTrue(rp[slots] <= u.numRanges() && cp[slots] <= u.numColumns(),
                "pair plan within its capacity");
        for (int h = 0; h < plans.length; h++)
            for (int pr = 0; pr < pairs; pr++) {
                int slot = h * pairs + pr, a = 2 * pr, b = 2 * pr + 1;
                TreeSet<Integer> want = new TreeSet<>(), got = new TreeSet<>();
                for (int qb : b < nqb ? new int[] {a, b} : new int[] {a}) {
                    int[] r = plans[h].ranges(qb);
                    for (int x = 0; x < r.length; x += 2) for (int j = r[x]; j < r[x + 1]; j++) want.add(j);
                    for (int j : plans[h].columns(qb)) want.add(j);
                }
                for (int x = rp[slot]; x < rp[slot + 1]; x++) for (int j = rd[2 * x]; j < rd[2 * x + 1]; j++) got.add(j);
                for (int x = cp[slot]; x < cp[slot + 1]; x++) {
                    String where = "head " + h + " pair " + pr + " column " + cd[x];
                    org.junit.jupiter.api.Assertions.assertTrue(got.add(cd[x]), where + " twice or inside a range");
                    int bits = (holds(plans[h], a, cd[x]) ? 1 : 0) | (b < nqb && holds(plans[h], b, cd[x]) ? 2 : 0);
                    org.junit.jupiter.api.Assertions.assertEquals(bits, owners[x], where + ": owner bits");
                }
                org.junit.jupiter.api.Assertions.assertEquals(want, got, "head " + h + " pair " + pr + ": keys");
            }
    }

    static boolean holds(BlockPlan p, int qb, int key) {
        int[] r = p.ranges(qb);
        for (int x = 0; x < r.length; x += 2) if (key >= r[x] && key < r[x + 1]) return true;
        for (int j : p.columns(qb)) if (j == key) return true;
        return false;
    }

    /** Random disjoint ranges (any alignment, inside [0, r1)) plus leftover columns outside them. */
    static BlockPlan randomPlan(Random rnd, int n) {
        int nqb = BlockPlan.blocks(n);
        int[][] ranges = new int[nqb][], cols = new int[nqb][];
        for (int qb = 0; qb < nqb; qb++) {
            int r1 = Math.min(qb * 64 + 64, n);
            TreeSet<Integer> cuts = new TreeSet<>();
            int pieces = rnd.nextInt(4) * 2;
            for (int x = 0; x < pieces; x++) cuts.add(rnd.nextInt(r1 + 1));
            if (rnd.nextBoolean()) { cuts.add(Math.max(0, r1 - 1 - rnd.nextInt(200))); cuts.add(r1); }
            List<Integer> c = new ArrayList<>(cuts);
            if (c.size() % 2 == 1) c.remove(c.size() - 1);
            List<Integer> rs = new ArrayList<>();
            for (int x = 0; x + 1 < c.size(); x += 2) if (c.get(x) < c.get(x + 1)) { rs.add(c.get(x)); rs.add(c.get(x + 1)); }
            ranges[qb] = rs.stream().mapToInt(Integer::intValue).toArray();
            TreeSet<Integer> left = new TreeSet<>();
            int want = rnd.nextInt(100);
            for (int x = 0; x < want; x++) {
                int j = rnd.nextInt(r1);
                boolean inside = false;
                for (int y = 0; y < ranges[qb].length; y += 2) inside |= j >= ranges[qb][y] && j < ranges[qb][y + 1];
                if (!inside) left.add(j);
            }
            cols[qb] = left.stream().mapToInt(Integer::intValue).toArray();
        }
        return new CpuReference.ListPlan(n, ranges, cols);
    }
}
