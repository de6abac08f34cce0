package io.prefill.cpu;

import io.prefill.kv.KvCache;
import io.prefill.model.LayerWeights;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.model.RopeFrequencies;

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
        check(cache, token, position);
        int hidden = config.hiddenSize();
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int d = config.headDim();
        float[] x = new float[hidden];
        weights.embedTokens().readRow(token, x);
        // The frequencies of a sequence of position + 1 tokens, as Hugging Face computes them when decoding.
        double[] inv = RopeFrequencies.inverseFrequencies(config, position + 1);
        for (int l = 0; l < config.numLayers(); l++) {
            LayerWeights w = weights.layer(l);
            float[] normed = RmsNorm.apply(x, 1, hidden, norms.input()[l], config.rmsNormEps());
            float[] q = Linear.apply(normed, 1, w.q(), w.qBias());
            float[] k = Linear.apply(normed, 1, w.k(), w.kBias());
            float[] v = Linear.apply(normed, 1, w.v(), w.vBias());
            rotate(q, heads, d, inv, position);
            rotate(k, kvHeads, d, inv, position);
            float[] attn = new float[heads * d];
            for (int h = 0; h < heads; h++) {
                int g = h / config.groupSize();
                attendHead(q, h, k, v, g, d, cache.k()[l][g], cache.v()[l][g], cache.kept(l, g), attn);
            }
            add(x, Linear.apply(attn, 1, w.o(), null));
            normed = RmsNorm.apply(x, 1, hidden, norms.postAttention()[l], config.rmsNormEps());
            float[] gate = Linear.apply(normed, 1, w.gate(), null);
            float[] up = Linear.apply(normed, 1, w.up(), null);
            for (int i = 0; i < gate.length; i++) gate[i] = CpuForwardPass.silu(gate[i]) * up[i];
            add(x, Linear.apply(gate, 1, w.down(), null));
        }
        float[] last = new float[hidden];
        RmsNorm.normalizeRow(x, 0, hidden, norms.last(), config.rmsNormEps(), last, 0);
        return Linear.apply(last, 1, weights.lmHead(), null);
    }

    /** Softmax over the cached keys and the new token's own key (in double, as the pre-fill). */
    private static void attendHead(float[] q, int h, float[] kNew, float[] vNew, int g, int d,
                                   float[] kCached, float[] vCached, int kept, float[] out) {
        double scale = 1.0 / Math.sqrt(d);
        double[] logits = new double[kept + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= kept; j++) {
            float[] keys = j < kept ? kCached : kNew;
            int off = j < kept ? j * d : g * d;
            double s = 0;
            for (int c = 0; c < d; c++) s += (double) q[h * d + c] * keys[off + c];
            logits[j] = s * scale;
            max = Math.max(max, logits[j]);
        }
        double normaliser = 0;
        double[] acc = new double[d];
        for (int j = 0; j <= kept; j++) {
            double wj = Math.exp(logits[j] - max);
            normaliser += wj;
            float[] values = j < kept ? vCached : vNew;
            int off = j < kept ? j * d : g * d;
            for (int c = 0; c < d; c++) acc[c] += wj * values[off + c];
        }
        for (int c = 0; c < d; c++) out[h * d + c] = (float) (acc[c] / normaliser);
    }

    /** Rotate-half RoPE of one position, with the same float tables as {@link Rope}. */
    private static void rotate(float[] x, int heads, int d, double[] inv, int position) {
        int half = d / 2;
        for (int i = 0; i < half; i++) {
            double angle = position * inv[i];
            float c = (float) Math.cos(angle);
            float s = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int base = h * d;
                float a = x[base + i];
                float b = x[base + i + half];
                x[base + i] = a * c - b * s;
                x[base + i + half] = b * c + a * s;
            }
        }
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
