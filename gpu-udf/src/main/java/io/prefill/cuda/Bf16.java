package io.prefill.cuda;

/** bfloat16 <-> float, round to nearest even (the same rounding as __float2bfloat16_rn). */
public final class Bf16 {
    private Bf16() { }

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) 0x7FC0;
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    public static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    public static short[] fromFloats(float[] f) {
        short[] out = new short[f.length];
        for (int i = 0; i < f.length; i++) out[i] = fromFloat(f[i]);
        return out;
    }

    public static float[] toFloats(short[] b) {
        float[] out = new float[b.length];
        for (int i = 0; i < b.length; i++) out[i] = toFloat(b[i]);
        return out;
    }

    /** The float nearest to f that bf16 can hold (so a CPU reference sees the GPU's inputs). */
    public static float round(float f) { return toFloat(fromFloat(f)); }
}
