package io.prefill.model;

/** Decoder architectures the engine runs; all are Llama-family (GQA, RMSNorm, RoPE, SwiGLU). */
public enum Architecture {
    LLAMA("LlamaForCausalLM"),
    MISTRAL("MistralForCausalLM"),
    QWEN2("Qwen2ForCausalLM");

    private final String hfName;

    Architecture(String hfName) { this.hfName = hfName; }

    /** The name used in config.json's "architectures" list. */
    public String hfName() { return hfName; }
}
