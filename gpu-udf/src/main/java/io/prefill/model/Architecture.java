package io.prefill.model;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Decoder architectures the engine runs. All are Llama-family decoders (GQA, pre-norm RMSNorm,
 * RoPE, SwiGLU); they differ in how the checkpoint stores the projections, in the rotary layout
 * and in config.json's defaults. Fused projections are split at load time, so the backends see
 * the same per-projection weights for every architecture.
 */
public enum Architecture {
    LLAMA("LlamaForCausalLM", "llama"),
    MISTRAL("MistralForCausalLM", "mistral"),
    QWEN2("Qwen2ForCausalLM", "qwen2"),
    /** Fused qkv_proj and gate_up_proj; longrope scaling in its long-context versions. */
    PHI3("Phi3ForCausalLM", "phi3"),
    /** GLM-4 in the transformers form: q/k/v bias, fused gate_up_proj, half-width interleaved rotary. */
    GLM("GlmForCausalLM", "glm");

    private final String hfName;
    private final String modelType;

    Architecture(String hfName, String modelType) {
        this.hfName = hfName;
        this.modelType = modelType;
    }

    /** The name used in config.json's "architectures" list. */
    public String hfName() { return hfName; }

    /** config.json's "model_type" for this architecture. */
    public String modelType() { return modelType; }

    /** Whether the checkpoint stores q, k and v as one {@code self_attn.qkv_proj} (rows: q, then k, then v). */
    public boolean fusedQkv() { return this == PHI3; }

    /** Whether the checkpoint stores gate and up as one {@code mlp.gate_up_proj} (rows: gate, then up). */
    public boolean fusedGateUp() { return this == PHI3 || this == GLM; }

    /** Which dimensions rotate together. */
    public RotaryPairing rotaryPairing() {
        return this == GLM ? RotaryPairing.INTERLEAVED : RotaryPairing.ROTATE_HALF;
    }

    /** partial_rotary_factor when config.json does not give one (transformers' config defaults). */
    public double defaultPartialRotaryFactor() { return this == GLM ? 0.5 : 1.0; }

    /** attention_bias when config.json does not give one; Qwen2 always has q/k/v bias. */
    public boolean defaultQkvBias() { return this == QWEN2 || this == GLM; }

    /** max_position_embeddings when config.json does not give one. */
    public int defaultMaxPositions() {
        return switch (this) {
            case LLAMA -> 2048;
            case MISTRAL -> 4096 * 32;
            case QWEN2 -> 32768;
            case PHI3 -> 4096;
            case GLM -> 131072;
        };
    }

    /** rms_norm_eps when config.json does not give one. */
    public double defaultRmsNormEps() {
        return switch (this) {
            case LLAMA, MISTRAL, QWEN2 -> 1e-6;
            case PHI3 -> 1e-5;
            case GLM -> 1.5625e-7;
        };
    }

    /** The architecture named in config.json's "architectures" list, if supported. */
    public static Optional<Architecture> fromHfName(String name) {
        return Arrays.stream(values()).filter(a -> a.hfName.equals(name)).findFirst();
    }

    /** "LlamaForCausalLM, MistralForCausalLM, ..." for error messages. */
    public static String supportedNames() {
        return Arrays.stream(values()).map(Architecture::hfName).collect(Collectors.joining(", "));
    }
}
