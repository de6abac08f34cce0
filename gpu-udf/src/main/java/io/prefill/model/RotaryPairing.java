package io.prefill.model;

/**
 * Which dimensions of a head's rotary part rotate together. With a rotary part of r dimensions
 * (the first r of the head; the rest pass through unrotated), pair i in [0, r/2) rotates by the
 * angle of inverse frequency i:
 * <ul>
 *   <li>{@link #ROTATE_HALF}: dimensions i and i + r/2 (transformers' {@code rotate_half}; Llama,
 *       Mistral, Qwen2, Phi-3);</li>
 *   <li>{@link #INTERLEAVED}: dimensions 2i and 2i + 1 (GLM's interleaved rotary).</li>
 * </ul>
 */
public enum RotaryPairing {
    ROTATE_HALF, INTERLEAVED;

    /** The first dimension of pair i in a rotary part of rotaryDim dimensions. */
    public int first(int pair, int rotaryDim) {
        return this == ROTATE_HALF ? pair : 2 * pair;
    }

    /** The dimension that rotates with {@link #first}. */
    public int second(int pair, int rotaryDim) {
        return this == ROTATE_HALF ? pair + rotaryDim / 2 : 2 * pair + 1;
    }
}
