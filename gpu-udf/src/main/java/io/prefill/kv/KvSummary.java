package io.prefill.kv;

import java.util.Arrays;
import java.util.Objects;

/**
 * A document's digest of its pre-filled KV cache: per layer and KV head, the kept positions with
 * their K and V in bf16. {@code model} identifies the model that produced it (see
 * {@link ModelIdentity}), so a later job cannot decode it with another model by mistake.
 *
 * @param heads [layer][kvHead]
 */
public record KvSummary(String model, int promptTokens, int headDim, HeadKv[][] heads) {
    public static final String DTYPE = "bf16";

    public KvSummary {
        for (HeadKv[] layer : heads) {
            for (HeadKv h : layer) {
                if (h.k().length != h.kept() * headDim * 2) {
                    throw new IllegalArgumentException("K of " + h.kept() + " positions needs " + h.kept() * headDim * 2
                            + " bf16 bytes for head_dim " + headDim + ", got " + h.k().length);
                }
                if (h.kept() > 0 && (h.positions()[0] < 0 || h.positions()[h.kept() - 1] >= promptTokens)) {
                    throw new IllegalArgumentException("KV positions must lie in [0, " + promptTokens + ")");
                }
            }
        }
    }

    public int numLayers() { return heads.length; }

    public int numKvHeads() { return heads.length == 0 ? 0 : heads[0].length; }

    public HeadKv head(int layer, int kvHead) { return heads[layer][kvHead]; }

    /** Bytes of K, V and positions over every layer and head. */
    public long bytes() {
        long b = 0;
        for (HeadKv[] layer : heads) for (HeadKv h : layer) b += h.bytes();
        return b;
    }

    public KvSummary withModel(String modelId) { return new KvSummary(modelId, promptTokens, headDim, heads); }

    @Override
    public boolean equals(Object o) {
        return o instanceof KvSummary s && Objects.equals(model, s.model) && promptTokens == s.promptTokens
                && headDim == s.headDim && Arrays.deepEquals(heads, s.heads);
    }

    @Override
    public int hashCode() { return Objects.hash(model, promptTokens, headDim, Arrays.deepHashCode(heads)); }
}
