package io.prefill.search;

/** One query head's attention inputs after RoPE: q of the head, k and v of the KV head it reads, each [n, d]. */
public record HeadInputs(float[] q, float[] k, float[] v, int n, int d) {
    public HeadInputs {
        long size = (long) n * d;
        if (n < 1 || d < 1) throw new IllegalArgumentException("need n >= 1 and d >= 1, got n=" + n + ", d=" + d);
        if (q.length < size || k.length < size || v.length < size) {
            throw new IllegalArgumentException("q, k and v need n*d=" + size + " floats");
        }
    }
}
