package io.prefill.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Expected values were computed by hand (Python) from the transformers formulas. */
class RopeFrequenciesTest {
    private static final double EPS = 1e-12;

    private static ModelConfig config(int headDim, double theta, RopeScaling scaling, int maxPositions) {
        return new ModelConfig(Architecture.LLAMA, 1000, headDim * 2, 64, 1, 2, 2, headDim, 1e-5, theta,
                scaling, maxPositions, false, false, -1, -1);
    }

    private static void assertRelative(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], Math.abs(expected[i]) * EPS, "index " + i);
        }
    }

    @Test
    void unscaledIsThetaToTheMinusTwoIOverD() {
        double[] inv = RopeFrequencies.inverseFrequencies(config(8, 10000, RopeScaling.NONE, 4096), 100_000);
        assertRelative(new double[] {1.0, 0.1, 0.01, 0.001}, inv);
    }

    @Test
    void linearDividesByTheFactor() {
        double[] inv = RopeFrequencies.inverseFrequencies(config(8, 10000, RopeScaling.linear(4), 4096), 10);
        assertRelative(new double[] {0.25, 0.025, 0.0025, 0.00025}, inv);
    }

    @Test
    void dynamicIsUnchangedWithinTheTrainedContext() {
        ModelConfig c = config(8, 10000, RopeScaling.dynamic(2, 0), 1000);
        assertRelative(new double[] {1.0, 0.1, 0.01, 0.001}, RopeFrequencies.inverseFrequencies(c, 1000));
    }

    @Test
    void dynamicGrowsTheBaseBeyondMaxPositions() {
        // base = 10000 * (2*2000/1000 - 1)^(8/6) = 43267.487109222246
        ModelConfig c = config(8, 10000, RopeScaling.dynamic(2, 0), 1000);
        assertRelative(new double[] {1.0, 0.06933612743506347, 0.004807498567691361, 0.0003333333333333334},
                RopeFrequencies.inverseFrequencies(c, 2000));
    }

    @Test
    void dynamicPrefersOriginalMaxPositions() {
        // base = 10000 * (4*1000/500 - 3)^(8/6) = 85498.79733383484; max_position_embeddings (4096) is ignored
        ModelConfig c = config(8, 10000, RopeScaling.dynamic(4, 500), 4096);
        assertRelative(new double[] {1.0, 0.05848035476425732, 0.003419951893353394, 0.00020000000000000004},
                RopeFrequencies.inverseFrequencies(c, 1000));
    }

    @Test
    void llama3KeepsHighSlowsLowAndBlendsTheMiddle() {
        // Llama 3.1: theta 500000, d 128, factor 8, low 1, high 4, original context 8192
        ModelConfig c = config(128, 500000, RopeScaling.llama3(8, 1, 4, 8192), 131072);
        double[] inv = RopeFrequencies.inverseFrequencies(c, 10);
        assertEquals(64, inv.length);
        assertEquals(1.0, inv[0], EPS);                                              // high frequency: unchanged
        assertEquals(0.0032114459947525913, inv[28], 0.0032114459947525913 * EPS);   // wavelen 1956 < 2048: unchanged
        assertEquals(0.002166570763503359, inv[29], 0.002166570763503359 * EPS);     // smooth 0.8036
        assertEquals(0.0005248461609929547, inv[32], 0.0005248461609929547 * EPS);   // smooth 0.2813
        assertEquals(0.00017850781276799638, inv[34], 0.00017850781276799638 * EPS); // smooth 0.0745
        assertEquals(9.556212353964683e-05, inv[35], 9.556212353964683e-05 * EPS);   // wavelen 8219 > 8192: / 8
        assertEquals(3.068925988914511e-07, inv[63], 3.068925988914511e-07 * EPS);
    }

    @Test
    void llama3DoesNotDependOnSequenceLength() {
        ModelConfig c = config(128, 500000, RopeScaling.llama3(8, 1, 4, 8192), 131072);
        assertArrayEquals(RopeFrequencies.inverseFrequencies(c, 1), RopeFrequencies.inverseFrequencies(c, 1_000_000));
    }
}
