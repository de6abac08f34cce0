package io.prefill.model;

/**
 * The OCP FP8 E4M3 format of Hopper's FP8 tensor cores and of FP8 checkpoints ({@code F8_E4M3},
 * PyTorch's {@code float8_e4m3fn}): 1 sign, 4 exponent (bias 7) and 3 mantissa bits, no
 * infinities, NaN only as S.1111.111, largest finite value 448, smallest subnormal 2^-9.
 */
public final class Fp8E4M3 {
    private Fp8E4M3() { }

    /** The largest finite magnitude, code 0x7E. */
    public static final float MAX = 448f;
    /** The positive NaN code (0xFF is the negative one). */
    public static final byte NAN = 0x7F;
    private static final int MAX_CODE = 0x7E;

    /** All 256 codes decoded once. */
    private static final float[] DECODE = new float[256];

    static {
        for (int c = 0; c < DECODE.length; c++) DECODE[c] = decode(c);
    }

    public static float toFloat(byte code) {
        return DECODE[code & 0xFF];
    }

    /**
     * Rounds to the nearest E4M3 value, ties to even. Magnitudes beyond 448, infinities included,
     * saturate to ±448 (the format has no infinity); NaN stays NaN, with its sign.
     */
    public static byte fromFloat(float f) {
        int sign = (Float.floatToRawIntBits(f) >>> 24) & 0x80;
        if (Float.isNaN(f)) return (byte) (sign | NAN);
        float a = Math.abs(f);
        if (a >= MAX) return (byte) (sign | MAX_CODE);
        // Positive codes 0..0x7E increase with their values: find the last one not above a.
        int lo = 0;
        int hi = MAX_CODE;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (DECODE[mid] <= a) lo = mid;
            else hi = mid - 1;
        }
        // Neighbouring values have 4 significant bits at most: their midpoint is exact in float.
        float halfway = (DECODE[lo] + DECODE[lo + 1]) * 0.5f;
        int code = a > halfway || (a == halfway && (lo & 1) != 0) ? lo + 1 : lo;
        return (byte) (sign | code);
    }

    private static float decode(int code) {
        int exponent = (code >>> 3) & 0xF;
        int mantissa = code & 0x7;
        float magnitude;
        if (exponent == 0xF && mantissa == 0x7) magnitude = Float.NaN;
        else if (exponent == 0) magnitude = mantissa * 0x1p-9f;
        else magnitude = Math.scalb(1f + mantissa / 8f, exponent - 7);
        return (code & 0x80) != 0 ? -magnitude : magnitude;
    }
}
