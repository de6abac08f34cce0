package io.prefill.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenLogprobsTest {
    @Test
    void logSoftmaxSumsToOneAndKeepsOrder() {
        float[] logits = {1f, 3f, -2f, 3f, 0.5f};
        double[] lp = TokenLogprobs.logSoftmax(logits);
        double sum = 0;
        for (double v : lp) sum += Math.exp(v);
        assertEquals(1.0, sum, 1e-12);
        assertEquals(Math.log(Math.exp(3) / (Math.exp(1) + 2 * Math.exp(3) + Math.exp(-2) + Math.exp(0.5))), lp[1], 1e-12);
    }

    @Test
    void logSoftmaxIsStableForHugeLogits() {
        double[] lp = TokenLogprobs.logSoftmax(new float[]{1e30f, 1e30f});
        assertEquals(Math.log(0.5), lp[0], 1e-12);
    }

    @Test
    void largestIsBestFirstWithTiesToSmallerIndex() {
        double[] v = {0.1, 0.7, 0.3, 0.7, 0.5};
        assertArrayEquals(new int[]{1, 3, 4}, TokenLogprobs.largest(v, 3));
        assertArrayEquals(new int[]{1, 3, 4, 2, 0}, TokenLogprobs.largest(v, 10));
    }

    @Test
    void nonFiniteLogitsAreCountedAndTheFirstNamed() {
        assertNull(TokenLogprobs.nonFinite(new float[]{1f, -3e38f, 0f}));
        String m = TokenLogprobs.nonFinite(new float[]{1f, Float.NaN, Float.NEGATIVE_INFINITY, Float.NaN});
        assertTrue(m.contains("2 NaN and 1 infinite of 4") && m.contains("token id 1"), m);
    }
}
