package io.prefill.kv;

import io.prefill.model.FloatCodecs;

/** Packs fp32 rows into little-endian bf16 bytes and back; the bytes are what the Parquet stores. */
public final class Bf16Rows {
    private Bf16Rows() { }

    /** The rows {@code positions} of x [n, d] as bf16 bytes [positions.length, d]. */
    public static byte[] encodeRows(float[] x, int d, int[] positions) {
        byte[] out = new byte[positions.length * d * 2];
        int o = 0;
        for (int p : positions) {
            for (int c = 0; c < d; c++) {
                short b = FloatCodecs.floatToBf16(x[p * d + c]);
                out[o++] = (byte) b;
                out[o++] = (byte) (b >>> 8);
            }
        }
        return out;
    }

    public static float[] decode(byte[] bf16) {
        if (bf16.length % 2 != 0) throw new IllegalArgumentException("bf16 data needs an even byte count, got " + bf16.length);
        float[] out = new float[bf16.length / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = FloatCodecs.bf16ToFloat((short) ((bf16[2 * i] & 0xFF) | (bf16[2 * i + 1] << 8)));
        }
        return out;
    }
}
