package io.prefill.engine;

/** What a backend's pre-fill returns: logits at the last prompt position only, and its work. */
public record ForwardOutput(float[] lastLogits, AttentionStats attention) { }
