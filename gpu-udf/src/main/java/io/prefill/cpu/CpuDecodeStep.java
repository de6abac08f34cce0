package io.prefill.cpu;

import io.prefill.kv.KvCache;
import io.prefill.model.LayerWeights;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;

/**
 * One token through the model on top of a KV cache: embed, then per layer RMSNorm, Q/K/V (+bias),
 * RoPE at the token's position, attention over the cached positions plus the token itself,
 * o_proj and residual, RMSNorm, MLP and residual; final norm and the logits. The cache may be a
 * whole prompt's or only a summary's kept positions: attention simply sees fewer keys.
 */
public final class CpuDecodeStep {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final NormWeights norms;

    public CpuDecodeStep(ModelConfig config, ModelWeights weights) {
        this.config = config;
        this.weights = weights;
        this.norms = NormWeights.of(weights, config.numLayers());
    }

    /**
     * Logits for the token after {@code token}, which sits at {@code position} (usually the
     * prompt's length) and follows every cached position.
     */
    public float[] logits(KvCache cache, int token, int position) {
        return logits(cache, new int[] {token}, position);
    }

    /**
     * Logits for the token after the last of {@code tokens}, which are fed one after another from
     * {@code position} on (teacher forcing): each attends over the cached positions, the tokens
     * fed before it and itself. A question asked after a summarised document is decoded this way.
     */
    public float[] logits(KvCache cache, int[] tokens, int position) {
        if (tokens.length == 0) throw new IllegalArgumentException("no token to decode");
        for (int t : tokens) check(cache, t, position);
        int hidden = config.hiddenSize();
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int d = config.headDim();
        int m = tokens.length;
        // K and V of the tokens fed so far, per layer and KV head: [m, headDim] each
        float[][][] fedK = new float[config.numLayers()][kvHeads][m * d];
        float[][][] fedV = new float[config.numLayers()][kvHeads][m * d];
        float[] x = new float[hidden];
        for (int t = 0; t < m; t++) {
            int pos = position + t;
            weights.embedTokens().readRow(tokens[t], x);
            // The frequencies of a sequence of pos + 1 tokens, as Hugging Face computes them when decoding.
            Rope rope = Rope.position(config, pos);
            for (int l = 0; l < config.numLayers(); l++) {
                LayerWeights w = weights.layer(l);
                float[] normed = RmsNorm.apply(x, 1, hidden, norms.input()[l], config.rmsNormEps());
                float[] q = Linear.apply(normed, 1, w.q(), w.qBias());
                float[] k = Linear.apply(normed, 1, w.k(), w.kBias());
                float[] v = Linear.apply(normed, 1, w.v(), w.vBias());
                rope.apply(q, 1, heads);
                rope.apply(k, 1, kvHeads);
                for (int g = 0; g < kvHeads; g++) {
                    System.arraycopy(k, g * d, fedK[l][g], t * d, d);
                    System.arraycopy(v, g * d, fedV[l][g], t * d, d);
                }
                float[] attn = new float[heads * d];
                for (int h = 0; h < heads; h++) {
                    int g = h / config.groupSize();
                    attendHead(q, h, d, cache.k()[l][g], cache.v()[l][g], cache.kept(l, g), fedK[l][g], fedV[l][g], t + 1, attn);
                }
                add(x, Linear.apply(attn, 1, w.o(), null));
                normed = RmsNorm.apply(x, 1, hidden, norms.postAttention()[l], config.rmsNormEps());
                float[] gate = Linear.apply(normed, 1, w.gate(), null);
                float[] up = Linear.apply(normed, 1, w.up(), null);
                for (int i = 0; i < gate.length; i++) gate[i] = CpuForwardPass.silu(gate[i]) * up[i];
                add(x, Linear.apply(gate, 1, w.down(), null));
            }
        }
        float[] last = new float[hidden];
        RmsNorm.normalizeRow(x, 0, hidden, norms.last(), config.rmsNormEps(), last, 0);
        return Linear.apply(last, 1, weights.lmHead(), null);
    }

    /**
     * Softmax over the cached keys and the fed tokens' keys, the current token's last (in double,
     * as the pre-fill).
     */
    private static void attendHead(float[] q, int h, int d, float[] kCached, float[] vCached, int kept,
                                   float[] kFed, float[] vFed, int fed, float[] out) {
        double scale = 1.0 / Math.sqrt(d);
        int n = kept + fed;
        double[] logits = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            float[] keys = j < kept ? kCached : kFed;
            int off = (j < kept ? j : j - kept) * d;
            double s = 0;
            for (int c = 0; c < d; c++) s += (double) q[h * d + c] * keys[off + c];
            logits[j] = s * scale;
            max = Math.max(max, logits[j]);
        }
        double normaliser = 0;
        double[] acc = new double[d];
        for (int j = 0; j < n; j++) {
            double wj = Math.exp(logits[j] - max);
            normaliser += wj;
            float[] values = j < kept ? vCached : vFed;
            int off = (j < kept ? j : j - kept) * d;
            for (int c = 0; c < d; c++) acc[c] += wj * values[off + c];
        }
        for (int c = 0; c < d; c++) out[h * d + c] = (float) (acc[c] / normaliser);
    }

    private void check(KvCache cache, int token, int position) {
        if (token < 0 || token >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary of " + config.vocabSize());
        }
        if (cache.numLayers() != config.numLayers() || cache.numKvHeads() != config.numKvHeads()
                || cache.headDim() != config.headDim()) {
            throw new IllegalArgumentException("the KV cache has " + cache.numLayers() + " layers x " + cache.numKvHeads()
                    + " KV heads x head_dim " + cache.headDim() + "; the model has " + config.numLayers() + " x "
                    + config.numKvHeads() + " x " + config.headDim());
        }
        if (position < cache.promptTokens()) {
            throw new IllegalArgumentException("decode position " + position + " lies inside the cached prompt of "
                    + cache.promptTokens() + " tokens");
        }
    }

    private static void add(float[] x, float[] delta) {
        for (int i = 0; i < x.length; i++) x[i] += delta[i];
    }
}
