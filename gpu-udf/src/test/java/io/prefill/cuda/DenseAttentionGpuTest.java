package io.prefill.cuda;

import static io.prefill.cuda.GpuTestSupport.*;

import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Tag("gpu")
class DenseAttentionGpuTest {

    @BeforeEach
    void gpu() { assumeGpu(); }

    @ParameterizedTest(name = "heads={0} kv={1} n={2} d={3}")
    @CsvSource({
        "1,1,1,64", "1,1,1,128", "2,1,63,128", "4,1,65,64", "8,8,257,128", "8,2,1000,128",
        "8,1,1000,64", "4,4,129,64", "4,1,4097,128", "2,2,4097,64"})
    void denseMatchesCpuReference(int heads, int kvHeads, int n, int d) {
        AttentionShape s = new AttentionShape(heads, kvHeads, n, d);
        Random rnd = new Random(31L * n + d + heads);
        float[] q = randomBf16(rnd, s.qElements(), 1.0), k = randomBf16(rnd, s.kvElements(), 1.0),
                v = randomBf16(rnd, s.kvElements(), 1.0);
        DeviceArena arena = arena();
        long mark = arena.mark();
        try {
            DeviceBuffer dq = upload(q, "q"), dk = upload(k, "k"), dv = upload(v, "v");
          for (AttentionKernels.Variant variant : denseVariants()) {
            DeviceBuffer out = poisoned(s.qElements(), "out");
            attention().use(variant, AttentionKernels.Variant.PLAN_MMA).dense(dq, dk, dv, out, s);
            float[] got = downloadBf16(out, s.qElements());
            assertAllFinite(got, "dense " + s);
            int group = heads / kvHeads;
            // full check of the first and last head; the others are checked for being written
            int[] checked = heads == 1 ? new int[] {0} : new int[] {0, heads - 1};
            int[] rows = n <= 1100 ? CpuReference.allRows(n)
                    : IntStream.concat(IntStream.range(0, 200), IntStream.range(n - 200, n)).toArray();
            for (int h : checked) {
                float[] ref = CpuReference.attention(head(q, h, n, d), head(k, h / group, n, d), head(v, h / group, n, d),
                        n, d, (i, j) -> true, rows);
                float[] refRows = new float[rows.length * d], gotRows = new float[rows.length * d];
                for (int r = 0; r < rows.length; r++) {
                    System.arraycopy(ref, rows[r] * d, refRows, r * d, d);
                    System.arraycopy(got, (h * n + rows[r]) * d, gotRows, r * d, d);
                }
                assertClose(refRows, gotRows, 0, "dense " + variant + " " + s + " head " + h);
            }
          }
        } finally {
            arena.reset(mark);
        }
    }
}
