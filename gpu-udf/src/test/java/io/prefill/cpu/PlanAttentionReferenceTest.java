package io.prefill.cpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The brute-force reference that PlanAttention is checked against, checked by hand. */
class PlanAttentionReferenceTest {

    @Test
    void causalAttentionMatchesAHandComputation() {
        // d = 1: logits q_i k_j; row 0 sees only key 0, row 1 sees keys 0 and 1.
        float[] q = {1f, 2f};
        float[] k = {1f, 3f};
        float[] v = {10f, 20f};
        float[] out = new float[2];
        AttentionReference.causal(q, k, v, 2, 1, out);
        double w0 = Math.exp(2), w1 = Math.exp(6);
        assertArrayEquals(new float[] {10f, (float) ((10 * w0 + 20 * w1) / (w0 + w1))}, out, 1e-5f);
    }

    @Test
    void maskRemovesEntriesAndScaleIsOneOverSqrtD() {
        // d = 4: q . k / 2. Row 2 with key 1 masked sees keys 0 and 2.
        float[] q = new float[12], k = new float[12], v = new float[12];
        for (int i = 0; i < 3; i++) { q[i * 4] = 1; k[i * 4] = i; v[i * 4 + 1] = 100 * i; }
        float[] out = new float[12];
        AttentionReference.masked(q, k, v, 3, 4, (i, j) -> !(i == 2 && j == 1), out);
        double w0 = Math.exp(0 / 2.0), w2 = Math.exp(2 / 2.0);
        assertArrayEquals(new float[] {0, (float) (200 * w2 / (w0 + w2)), 0, 0}, java.util.Arrays.copyOfRange(out, 8, 12), 1e-4f);
    }

    @Test
    void aRowWithoutKeysIsAnError() {
        float[] x = new float[4];
        assertThrows(IllegalArgumentException.class,
            () -> AttentionReference.masked(x, x, x, 2, 2, (i, j) -> i == 0, new float[4]));
    }
}
