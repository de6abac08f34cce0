package io.prefill.cpu;

import io.prefill.model.ModelConfig;
import io.prefill.model.RopeFrequencies;
import io.prefill.model.RotaryPairing;

import java.util.stream.IntStream;

/**
 * Rotary position embedding of a run of positions, as transformers applies it: the first
 * rotaryDim dimensions of every head rotate in pairs ({@link RotaryPairing}: dimension i with
 * i + rotaryDim/2 in the "rotate_half" layout of Llama-family checkpoints, 2i with 2i + 1 in GLM's
 * interleaved one), the rest pass through; cos and sin carry the config's attention scaling.
 */
final class Rope {
    private final int headDim;
    private final int rotaryDim;
    private final RotaryPairing pairing;
    private final float[] cos;
    private final float[] sin;

    /**
     * Tables for positions [firstPosition, firstPosition + count) of a sequence of seqLen tokens
     * (the length chooses the frequencies of the length-dependent scalings).
     */
    Rope(ModelConfig c, int seqLen, int firstPosition, int count) {
        double[] inverseFrequencies = RopeFrequencies.inverseFrequencies(c, seqLen);
        double scaling = RopeFrequencies.attentionScaling(c);
        this.headDim = c.headDim();
        this.rotaryDim = c.rotaryDim();
        this.pairing = c.rotaryPairing();
        int pairs = rotaryDim / 2;
        this.cos = new float[count * pairs];
        this.sin = new float[count * pairs];
        IntStream.range(0, count).parallel().forEach(t -> {
            long p = (long) firstPosition + t;
            for (int i = 0; i < pairs; i++) {
                double angle = p * inverseFrequencies[i];
                cos[t * pairs + i] = (float) (Math.cos(angle) * scaling);
                sin[t * pairs + i] = (float) (Math.sin(angle) * scaling);
            }
        });
    }

    /** The whole pre-fill of n tokens: positions [0, n). */
    static Rope prefill(ModelConfig c, int n) {
        return new Rope(c, n, 0, n);
    }

    /** One decoded token at position p, the last of a sequence of p + 1 tokens. */
    static Rope position(ModelConfig c, int p) {
        return new Rope(c, p + 1, p, 1);
    }

    /** Rotates every head of x [count, heads * headDim] in place; row t holds position firstPosition + t. */
    void apply(float[] x, int count, int heads) {
        int pairs = rotaryDim / 2;
        int width = heads * headDim;
        IntStream.range(0, count).parallel().forEach(t -> {
            for (int h = 0; h < heads; h++) {
                int base = t * width + h * headDim;
                for (int i = 0; i < pairs; i++) {
                    float c = cos[t * pairs + i];
                    float s = sin[t * pairs + i];
                    int first = base + pairing.first(i, rotaryDim);
                    int second = base + pairing.second(i, rotaryDim);
                    float a = x[first];
                    float b = x[second];
                    x[first] = a * c - b * s;
                    x[second] = b * c + a * s;
                }
            }
        });
    }
}
