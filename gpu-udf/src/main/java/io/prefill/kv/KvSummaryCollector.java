package io.prefill.kv;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Builds a {@link KvSummary} layer by layer during a pre-fill: for every KV head, the selector
 * picks the positions from the group's queries and the head's keys, and only those rows of K and V
 * are kept (as bf16), so the full cache never outlives its layer.
 */
public final class KvSummaryCollector implements LayerKvObserver {
    private final SnapKvSelector selector;
    private final HeadKv[][] heads;
    private int promptTokens = -1;
    private int headDim = -1;

    public KvSummaryCollector(int numLayers, int numKvHeads, KvSummaryOptions options) {
        this.selector = new SnapKvSelector(options);
        this.heads = new HeadKv[numLayers][numKvHeads];
    }

    @Override
    public void onLayer(int layer, int n, int d, float[][] qHeads, float[][] kHeads, float[][] vHeads) {
        int kvHeads = kHeads.length;
        int group = qHeads.length / kvHeads;
        promptTokens = n;
        headDim = d;
        IntStream.range(0, kvHeads).parallel().forEach(g -> {
            float[][] groupQueries = Arrays.copyOfRange(qHeads, g * group, (g + 1) * group);
            int[] kept = selector.select(groupQueries, kHeads[g], n, d);
            heads[layer][g] = new HeadKv(kept, Bf16Rows.encodeRows(kHeads[g], d, kept), Bf16Rows.encodeRows(vHeads[g], d, kept));
        });
    }

    /** The summary once every layer has been seen; model is filled in by the engine. */
    public KvSummary summary() {
        for (HeadKv[] layer : heads) {
            for (HeadKv h : layer) if (h == null) throw new IllegalStateException("the pre-fill did not report every layer");
        }
        return new KvSummary(null, promptTokens, headDim, heads);
    }
}
