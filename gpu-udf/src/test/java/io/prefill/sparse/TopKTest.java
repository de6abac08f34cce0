package io.prefill.sparse;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TopKTest {

    @Test
    void picksHighestScoresAndReturnsThemAscending() {
        float[] scores = {0.1f, 5f, -2f, 3f, 4f, -0.5f};
        assertArrayEquals(new int[] {1, 3, 4}, TopK.select(scores, scores.length, 3));
    }

    @Test
    void tiesGoToTheSmallerIndex() {
        float[] scores = {1f, 2f, 2f, 1f, 2f, 1f};
        assertArrayEquals(new int[] {1, 2}, TopK.select(scores, scores.length, 2));
        assertArrayEquals(new int[] {0, 1, 2, 4}, TopK.select(scores, scores.length, 4));
    }

    @Test
    void infinityForcesInAndZeroSignDoesNotBreakTies() {
        float[] scores = {-0f, Float.POSITIVE_INFINITY, 0f, Float.NEGATIVE_INFINITY, 1e-30f};
        assertArrayEquals(new int[] {1, 4}, TopK.select(scores, scores.length, 2));
        assertArrayEquals(new int[] {0, 1, 4}, TopK.select(scores, scores.length, 3));
    }

    @Test
    void negativeScoresRankByValue() {
        float[] scores = {-3f, -1f, -2f, -10f};
        assertArrayEquals(new int[] {1, 2}, TopK.select(scores, scores.length, 2));
    }

    @Test
    void kIsClampedAndLengthLimitsTheCandidates() {
        float[] scores = {1f, 2f, 3f, 100f};
        assertArrayEquals(new int[] {0, 1, 2}, TopK.select(scores, 3, 10));
        assertArrayEquals(new int[0], TopK.select(scores, 3, 0));
    }

    @Test
    void nanIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> TopK.select(new float[] {1f, Float.NaN}, 2, 1));
    }
}
