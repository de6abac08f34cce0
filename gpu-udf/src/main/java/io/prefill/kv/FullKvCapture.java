package io.prefill.kv;

/**
 * Keeps every position's K and V in fp32: the uncompressed cache a summary is measured against
 * (tests, debugging). Memory grows with layers x n x kvDim, so not for long production prompts.
 */
public final class FullKvCapture implements LayerKvObserver {
    private final float[][][] k;
    private final float[][][] v;
    private int n = -1;
    private int headDim = -1;

    public FullKvCapture(int numLayers, int numKvHeads) {
        this.k = new float[numLayers][numKvHeads][];
        this.v = new float[numLayers][numKvHeads][];
    }

    @Override
    public void onLayer(int layer, int n, int d, float[][] qHeads, float[][] kHeads, float[][] vHeads) {
        this.n = n;
        this.headDim = d;
        for (int g = 0; g < kHeads.length; g++) {
            k[layer][g] = kHeads[g].clone();
            v[layer][g] = vHeads[g].clone();
        }
    }

    public KvCache cache(String model) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        int[][][] positions = new int[k.length][k.length == 0 ? 0 : k[0].length][];
        for (int l = 0; l < k.length; l++) for (int g = 0; g < k[l].length; g++) positions[l][g] = all;
        return new KvCache(model, n, headDim, positions, k, v);
    }
}
