package io.prefill.sparse;

import java.util.Arrays;

/**
 * Top-k selection with the tie rule every backend must replicate: higher score first, and among
 * equal scores the smaller index first. Scores compare as float32 values (+0.0 and -0.0 are equal);
 * +infinity is how callers force an index in.
 */
public final class TopK {
    private TopK() { }

    /**
     * Indices of the k best scores in {@code scores[0, length)}, returned sorted ascending.
     * k is clamped to [0, length].
     *
     * @throws IllegalArgumentException if a considered score is NaN (it has no rank)
     */
    public static int[] select(float[] scores, int length, int k) {
        if (length < 0 || length > scores.length) {
            throw new IllegalArgumentException("length " + length + " outside [0, " + scores.length + "]");
        }
        int keep = Math.max(0, Math.min(k, length));
        // One sort over (score, index) packed into a long: the high word orders scores, the low
        // word (MAX - index) makes the smaller index win a tie. The best k are at the end.
        long[] keys = new long[length];
        for (int j = 0; j < length; j++) {
            float s = scores[j];
            if (Float.isNaN(s)) throw new IllegalArgumentException("score " + j + " is NaN");
            keys[j] = ((long) sortableBits(s) << 32) | (Integer.MAX_VALUE - j);
        }
        Arrays.sort(keys);
        int[] picked = new int[keep];
        for (int t = 0; t < keep; t++) {
            picked[t] = Integer.MAX_VALUE - (int) (keys[length - 1 - t] & 0xFFFFFFFFL);
        }
        Arrays.sort(picked);
        return picked;
    }

    /** An int whose signed order is the float order (for non-NaN floats, with -0.0 == +0.0). */
    static int sortableBits(float f) {
        int bits = Float.floatToIntBits(f == 0f ? 0f : f);
        return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
    }
}
