package io.prefill.cpu;

import io.prefill.model.LayerWeights;
import io.prefill.model.ModelConfig;
import io.prefill.model.ModelWeights;
import io.prefill.model.TensorView;

/**
 * A second, deliberately naive forward pass in double precision, written straight from the
 * Llama equations with explicit index arithmetic and dense causal attention. The production
 * reference is checked against it, so layout slips (head order, RoPE pairing, GQA mapping, bias)
 * cannot hide. It handles unscaled RoPE only.
 */
final class NaiveTransformer {
    private final ModelConfig c;
    private final ModelWeights w;

    NaiveTransformer(ModelConfig c, ModelWeights w) {
        this.c = c;
        this.w = w;
    }

    double[] lastLogits(int[] tokens) {
        int n = tokens.length;
        int hd = c.hiddenSize();
        int d = c.headDim();
        double[][] x = new double[n][hd];
        for (int t = 0; t < n; t++) for (int i = 0; i < hd; i++) x[t][i] = w.embedTokens().get((long) tokens[t] * hd + i);
        for (int l = 0; l < c.numLayers(); l++) {
            LayerWeights lw = w.layer(l);
            double[][] h = new double[n][];
            for (int t = 0; t < n; t++) h[t] = rms(x[t], lw.inputNorm());
            double[][][] q = new double[c.numHeads()][n][];
            double[][][] k = new double[c.numKvHeads()][n][];
            double[][][] v = new double[c.numKvHeads()][n][];
            for (int t = 0; t < n; t++) {
                double[] qa = linear(h[t], lw.q(), lw.qBias());
                double[] ka = linear(h[t], lw.k(), lw.kBias());
                double[] va = linear(h[t], lw.v(), lw.vBias());
                for (int head = 0; head < c.numHeads(); head++) q[head][t] = rope(slice(qa, head * d, d), t);
                for (int g = 0; g < c.numKvHeads(); g++) {
                    k[g][t] = rope(slice(ka, g * d, d), t);
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
            for (int t = 0; t < n; t++) add(x[t], linear(attn[t], lw.o(), null));
            for (int t = 0; t < n; t++) {
                double[] m = rms(x[t], lw.postAttentionNorm());
                double[] gate = linear(m, lw.gate(), null);
                double[] up = linear(m, lw.up(), null);
                for (int i = 0; i < gate.length; i++) gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                add(x[t], linear(gate, lw.down(), null));
            }
        }
        return linear(rms(x[n - 1], w.finalNorm()), w.lmHead(), null);
    }

    private double[] rope(double[] x, int pos) {
        int d = x.length;
        double[] y = new double[d];
        for (int i = 0; i < d / 2; i++) {
            double theta = pos * Math.pow(c.ropeTheta(), -2.0 * i / d);
            y[i] = x[i] * Math.cos(theta) - x[i + d / 2] * Math.sin(theta);
            y[i + d / 2] = x[i + d / 2] * Math.cos(theta) + x[i] * Math.sin(theta);
        }
        return y;
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
