package io.prefill.model;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/** Decoder architectures the engine runs; all are Llama-family (GQA, RMSNorm, RoPE, SwiGLU). */
public enum Architecture {
    LLAMA("LlamaForCausalLM", "llama"),
    MISTRAL("MistralForCausalLM", "mistral"),
    QWEN2("Qwen2ForCausalLM", "qwen2");

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

    /** The architecture named in config.json's "architectures" list, if supported. */
    public static Optional<Architecture> fromHfName(String name) {
        return Arrays.stream(values()).filter(a -> a.hfName.equals(name)).findFirst();
    }

    /** "LlamaForCausalLM, MistralForCausalLM, ..." for error messages. */
    public static String supportedNames() {
        return Arrays.stream(values()).map(Architecture::hfName).collect(Collectors.joining(", "));
    }
}
