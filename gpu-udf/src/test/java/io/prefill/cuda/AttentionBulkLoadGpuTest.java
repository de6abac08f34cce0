package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.prefill.sparse.BlockPlan;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The bulk-copy kernels (DENSE_WS_TMA, PAIR_PLAN_WS_TMA: K/V tiles by tensor-map copies) write the
 * same bytes as their cp.async twins (DENSE_WS, PAIR_PLAN_WS). The two differ only in how a tile
 * reaches shared memory and in what lies past a tile's last key (cp.async: zeros; the copies: the
 * next keys, the next KV head's, or the map's zeros), which the consumers mask; a wrong row, panel,
 * swizzle or head offset, or a row past the end left unmasked, changes the output. Shapes with
 * several KV heads and lengths off the 128-key tile put another head's keys past a tile's end.
 */
@Tag("gpu")
class AttentionBulkLoadGpuTest {

    @BeforeEach
    void gpu() {
        assumeGpu();
        Assumptions.assumeTrue(Gemm.wgmmaLoaded(module(), stream()), "the warp-specialised kernels need the sm_90a build");
        Assumptions.assumeTrue(TensorMap.unavailable() == null, () -> "no tensor maps: " + TensorMap.unavailable());
    }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3}")
    @CsvSource({"2,1,63,128", "4,4,129,64", "8,2,1000,128", "4,2,300,64", "8,8,4097,128", "4,1,2111,64"})
    void denseBulkCopiesMatchCpAsyncBitForBit(int heads, int kvHeads, int n, int d) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(7L * n + d + heads);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer q = upload(randomBf16(rnd, s.qElements(), 1.0), "q"), k = upload(randomBf16(rnd, s.kvElements(), 1.0), "k"),
                    v = upload(randomBf16(rnd, s.kvElements(), 1.0), "v");
            short[][] outs = new short[2][];
            AttentionKernels.Variant[] variants = {AttentionKernels.Variant.DENSE_WS, AttentionKernels.Variant.DENSE_WS_TMA};
            for (int i = 0; i < 2; i++) {
                DeviceBuffer out = poisoned(s.qElements(), "out");
                attention().use(variants[i], AttentionKernels.Variant.PLAN_MMA).dense(q, k, v, out, s);
                outs[i] = new short[Math.toIntExact(s.qElements())];
                out.download(stream(), outs[i]);
            }
            assertSameBits(outs[0], outs[1], s, "dense");
        } finally {
            arena.reset(mark);
        }
    }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3}")
    @CsvSource({"4,2,1000,128", "8,8,777,64", "4,1,2049,128", "8,2,3001,64"})
    void pairBulkCopiesMatchCpAsyncBitForBit(int heads, int kvHeads, int n, int d) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(11L * n + d + heads);
        BlockPlan[] plans = new BlockPlan[heads];
        for (int h = 0; h < heads; h++) plans[h] = PlanAttentionGpuTest.randomPlan(rnd, n);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer q = upload(randomBf16(rnd, s.qElements(), 1.0), "q"), k = upload(randomBf16(rnd, s.kvElements(), 1.0),
                    "k"), v = upload(randomBf16(rnd, s.kvElements(), 1.0), "v");
            DevicePlan plan = DevicePlan.upload(HostPlan.of(plans), arena, stream());
            AttentionKernels attn = attention();
            PairPlan pair = attn.pairPlan(plan, arena);
            short[][] outs = new short[2][];
            AttentionKernels.Variant[] variants = {AttentionKernels.Variant.PAIR_PLAN_WS,
                    AttentionKernels.Variant.PAIR_PLAN_WS_TMA};
            for (int i = 0; i < 2; i++) {
                DeviceBuffer out = poisoned(s.qElements(), "out");
                attn.usePair(variants[i]).withPairPlan(q, k, v, out, s, plan, pair);
                outs[i] = new short[Math.toIntExact(s.qElements())];
                out.download(stream(), outs[i]);
            }
            assertSameBits(outs[0], outs[1], s, "pair plan");
        } finally {
            arena.reset(mark);
        }
    }

    /** Element by element, naming the first that differs by head, row and column. */
    private static void assertSameBits(short[] cpAsync, short[] bulk, AttentionShape s, String what) {
        int n = s.seqLen(), d = s.headDim();
        for (int i = 0; i < cpAsync.length; i++) {
            if (cpAsync[i] == bulk[i]) continue;
            int h = i / (n * d), row = i / d % n, col = i % d;
            assertEquals(Bf16.toFloat(cpAsync[i]), Bf16.toFloat(bulk[i]), what + " " + s + ": head " + h + " row " + row
                    + " column " + col + " differs between the cp.async kernel and the bulk-copy one (bits "
                    + Integer.toHexString(cpAsync[i] & 0xffff) + " vs " + Integer.toHexString(bulk[i] & 0xffff) + ")");
            assertEquals(cpAsync[i], bulk[i], what + " " + s + ": head " + h + " row " + row + " column " + col + " bits");
        }
    }
}
