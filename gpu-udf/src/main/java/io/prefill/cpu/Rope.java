package io.prefill.cpu;

import java.util.stream.IntStream;

/**
 * Rotary position embedding in the Hugging Face "rotate_half" layout: dimension i is paired with
 * i + d/2 (not with its neighbour), which is how Llama-family checkpoints are stored.
 */
final class Rope {
    private final int headDim;
    private final float[] cos;
    private final float[] sin;

    /** Tables for positions [0, n) from the scaled inverse frequencies (length headDim/2). */
    Rope(double[] inverseFrequencies, int headDim, int n) {
        this.headDim = headDim;
        int half = headDim / 2;
        this.cos = new float[n * half];
        this.sin = new float[n * half];
        IntStream.range(0, n).parallel().forEach(p -> {
            for (int i = 0; i < half; i++) {
                double angle = p * inverseFrequencies[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        });
    }

    /** Rotates every head of x [n, heads * headDim] in place. */
    void apply(float[] x, int n, int heads) {
        int half = headDim / 2;
        int width = heads * headDim;
        IntStream.range(0, n).parallel().forEach(p -> {
            for (int h = 0; h < heads; h++) {
                int base = p * width + h * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[p * half + i];
                    float s = sin[p * half + i];
                    float a = x[base + i];
                    float b = x[base + i + half];
                    x[base + i] = a * c - b * s;
                    x[base + i + half] = b * c + a * s;
                }
            }
        });
    }
}
