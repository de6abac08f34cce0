package io.prefill.engine;

import io.prefill.kv.KvSummary;

/**
 * What a backend's pre-fill returns: logits at the last prompt position only, and its work; plus
 * the KV summary when one was asked for (else null).
 */
public record ForwardOutput(float[] lastLogits, AttentionStats attention, KvSummary kvSummary) {
    public ForwardOutput(float[] lastLogits, AttentionStats attention) {
        this(lastLogits, attention, null);
    }
}
