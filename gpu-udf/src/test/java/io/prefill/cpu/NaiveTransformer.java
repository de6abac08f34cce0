package io.prefill.cpu;

import io.prefill.model.Architecture;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeScaling;
import io.prefill.model.TensorView;
import io.prefill.model.WeightStore;

/**
 * A second, deliberately naive forward pass in double precision, written straight from the
 * transformers equations with explicit index arithmetic and dense causal attention. It reads the
 * checkpoint's tensors by their Hugging Face names and splits fused ones (Phi-3's qkv_proj, the
 * gate_up_proj of Phi-3 and GLM) itself, and computes the rotary embedding itself (rotate_half or
 * GLM's interleaved pairs over the first head_dim * partial_rotary_factor dimensions; longrope's
 * short or long factors and its cos/sin scaling), so that layout slips in the loader or the
 * production reference (head order, RoPE pairing, GQA mapping, bias, fused row order) cannot hide.
 * Rope scaling: none or longrope.
 */
final class NaiveTransformer {
    private final ModelConfig c;
    private final WeightStore store;

    NaiveTransformer(ModelConfig c, WeightStore store) {
        if (c.ropeScaling().type() != RopeScaling.Type.NONE && c.ropeScaling().type() != RopeScaling.Type.LONGROPE) {
            throw new IllegalArgumentException("the naive forward does rope scaling none and longrope only");
        }
        this.c = c;
        this.store = store;
    }

    double[] lastLogits(int[] tokens) {
        int n = tokens.length;
        int hd = c.hiddenSize();
        int d = c.headDim();
        int qRows = c.numHeads() * d, kvRows = c.numKvHeads() * d, inter = c.intermediateSize();
        TensorView embed = store.get("model.embed_tokens.weight");
        double[][] x = new double[n][hd];
        for (int t = 0; t < n; t++) for (int i = 0; i < hd; i++) x[t][i] = embed.get((long) tokens[t] * hd + i);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] h = new double[n][];
            for (int t = 0; t < n; t++) h[t] = rms(x[t], store.get(p + "input_layernorm.weight"));
            double[][][] q = new double[c.numHeads()][n][];
            double[][][] k = new double[c.numKvHeads()][n][];
            double[][][] v = new double[c.numKvHeads()][n][];
            for (int t = 0; t < n; t++) {
                double[] qa, ka, va;
                if (c.architecture() == Architecture.PHI3) {
                    // one projection whose output rows are q (heads * d), then k, then v (kvHeads * d each)
                    double[] qkv = linear(h[t], store.get(p + "self_attn.qkv_proj.weight"), null);
                    qa = slice(qkv, 0, qRows);
                    ka = slice(qkv, qRows, kvRows);
                    va = slice(qkv, qRows + kvRows, kvRows);
                } else {
                    qa = linear(h[t], store.get(p + "self_attn.q_proj.weight"), bias(p + "self_attn.q_proj.bias"));
                    ka = linear(h[t], store.get(p + "self_attn.k_proj.weight"), bias(p + "self_attn.k_proj.bias"));
                    va = linear(h[t], store.get(p + "self_attn.v_proj.weight"), bias(p + "self_attn.v_proj.bias"));
                }
                for (int head = 0; head < c.numHeads(); head++) q[head][t] = rope(slice(qa, head * d, d), t, n);
                for (int g = 0; g < c.numKvHeads(); g++) {
                    k[g][t] = rope(slice(ka, g * d, d), t, n);
                    v[g][t] = slice(va, g * d, d);
                }
            }
            double[][] attn = new double[n][c.numHeads() * d];
            for (int head = 0; head < c.numHeads(); head++) {
                int g = head / (c.numHeads() / c.numKvHeads());
                for (int i = 0; i < n; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += q[head][i][e] * k[g][j][e];
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) z += (s[j] = Math.exp(s[j] - max));
                    for (int j = 0; j <= i; j++) for (int e = 0; e < d; e++) attn[i][head * d + e] += s[j] / z * v[g][j][e];
                }
            }
            for (int t = 0; t < n; t++) add(x[t], linear(attn[t], store.get(p + "self_attn.o_proj.weight"), null));
            for (int t = 0; t < n; t++) {
                double[] m = rms(x[t], store.get(p + "post_attention_layernorm.weight"));
                double[] gate, up;
                if (store.contains(p + "mlp.gate_up_proj.weight")) {
                    // transformers' chunk(2): the first intermediate_size rows are the gate, the rest up
                    double[] gateUp = linear(m, store.get(p + "mlp.gate_up_proj.weight"), null);
                    gate = slice(gateUp, 0, inter);
                    up = slice(gateUp, inter, inter);
                } else {
                    gate = linear(m, store.get(p + "mlp.gate_proj.weight"), null);
                    up = linear(m, store.get(p + "mlp.up_proj.weight"), null);
                }
                for (int i = 0; i < gate.length; i++) gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                add(x[t], linear(gate, store.get(p + "mlp.down_proj.weight"), null));
            }
        }
        TensorView lmHead = c.tieWordEmbeddings() ? embed : store.get("lm_head.weight");
        return linear(rms(x[n - 1], store.get("model.norm.weight")), lmHead, null);
    }

    /**
     * transformers' apply_rotary_pos_emb for one head at position pos of a sequence of seqLen
     * tokens: the first r = head_dim * partial_rotary_factor dimensions rotate, pair i by angle
     * pos * theta^(-2i/r) (divided by longrope's factor i: the long ones when seqLen exceeds the
     * original context), cos and sin times longrope's sqrt(1 + ln(factor) / ln(original)), factor
     * being max_position_embeddings / original_max_position_embeddings.
     */
    private double[] rope(double[] x, int pos, int seqLen) {
        int r = (int) (x.length * c.partialRotaryFactor());
        double[] y = x.clone();
        RopeScaling s = c.ropeScaling();
        boolean longrope = s.type() == RopeScaling.Type.LONGROPE;
        double scale = 1;
        if (longrope) {
            double factor = (double) c.maxPositionEmbeddings() / s.originalMaxPositionEmbeddings();
            scale = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(s.originalMaxPositionEmbeddings()));
        }
        for (int i = 0; i < r / 2; i++) {
            double divisor = !longrope ? 1
                    : seqLen > s.originalMaxPositionEmbeddings() ? s.longFactor().get(i) : s.shortFactor().get(i);
            double theta = pos * Math.pow(c.ropeTheta(), -2.0 * i / r) / divisor;
            int a = c.architecture() == Architecture.GLM ? 2 * i : i;
            int b = c.architecture() == Architecture.GLM ? 2 * i + 1 : i + r / 2;
            double cos = scale * Math.cos(theta), sin = scale * Math.sin(theta);
            y[a] = x[a] * cos - x[b] * sin;
            y[b] = x[b] * cos + x[a] * sin;
        }
        return y;
    }

    private TensorView bias(String name) {
        return store.contains(name) ? store.get(name) : null;
    }

    private double[] rms(double[] x, TensorView weight) {
        double ss = 0;
        for (double e : x) ss += e * e;
        double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * inv * weight.get(i);
        return y;
    }

    private static double[] linear(double[] x, TensorView w, TensorView b) {
        int out = (int) w.shape()[0];
        int in = (int) w.shape()[1];
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b == null ? 0 : b.get(o);
            for (int i = 0; i < in; i++) s += w.get((long) o * in + i) * x[i];
            y[o] = s;
        }
        return y;
    }

    private static double[] slice(double[] a, int off, int len) {
        double[] r = new double[len];
        System.arraycopy(a, off, r, 0, len);
        return r;
    }

    private static void add(double[] x, double[] d) {
        for (int i = 0; i < x.length; i++) x[i] += d[i];
    }
}
