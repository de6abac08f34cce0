package io.prefill.kv;

import java.util.Arrays;

/**
 * What is kept of one layer's KV head: ascending prompt positions and their K and V rows (after
 * RoPE) as little-endian bf16 bytes [positions.length, headDim].
 */
public record HeadKv(int[] positions, byte[] k, byte[] v) {
    public HeadKv {
        for (int i = 1; i < positions.length; i++) {
            if (positions[i] <= positions[i - 1]) throw new IllegalArgumentException("KV positions must be strictly ascending");
        }
        if (k.length != v.length) throw new IllegalArgumentException("K has " + k.length + " bytes, V has " + v.length);
    }

    public int kept() { return positions.length; }

    public long bytes() { return k.length + (long) v.length + 4L * positions.length; }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeadKv h && Arrays.equals(positions, h.positions) && Arrays.equals(k, h.k) && Arrays.equals(v, h.v);
    }

    @Override
    public int hashCode() { return 31 * (31 * Arrays.hashCode(positions) + Arrays.hashCode(k)) + Arrays.hashCode(v); }
}
