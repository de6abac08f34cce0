package io.prefill.kv;

/**
 * A KV cache a decode step attends over: per layer and KV head, the cached positions with their K
 * and V rows in fp32 (after RoPE). It may hold every prompt position or only a summary's.
 *
 * @param k [layer][kvHead] -> [kept, headDim] row-major
 */
public record KvCache(String model, int promptTokens, int headDim, int[][][] positions, float[][][] k, float[][][] v) {

    /** Decodes a summary's bf16 K and V. */
    public static KvCache of(KvSummary s) {
        int layers = s.numLayers();
        int kvHeads = s.numKvHeads();
        int[][][] pos = new int[layers][kvHeads][];
        float[][][] k = new float[layers][kvHeads][];
        float[][][] v = new float[layers][kvHeads][];
        for (int l = 0; l < layers; l++) {
            for (int g = 0; g < kvHeads; g++) {
                HeadKv h = s.head(l, g);
                pos[l][g] = h.positions().clone();
                k[l][g] = Bf16Rows.decode(h.k());
                v[l][g] = Bf16Rows.decode(h.v());
            }
        }
        return new KvCache(s.model(), s.promptTokens(), s.headDim(), pos, k, v);
    }

    public int numLayers() { return positions.length; }

    public int numKvHeads() { return positions.length == 0 ? 0 : positions[0].length; }

    /** Cached positions of one layer and KV head. */
    public int kept(int layer, int kvHead) { return positions[layer][kvHead].length; }
}
