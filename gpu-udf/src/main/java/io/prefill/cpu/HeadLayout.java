package io.prefill.cpu;

/** Moves between token-major [n, heads * d] projections and per-head [n, d] blocks. */
final class HeadLayout {
    private HeadLayout() { }

    static float[] extractHead(float[] x, int n, int heads, int d, int head) {
        float[] out = new float[n * d];
        int width = heads * d;
        for (int t = 0; t < n; t++) System.arraycopy(x, t * width + head * d, out, t * d, d);
        return out;
    }

    static void insertHead(float[] headData, int n, int heads, int d, int head, float[] x) {
        int width = heads * d;
        for (int t = 0; t < n; t++) System.arraycopy(headData, t * d, x, t * width + head * d, d);
    }
}
