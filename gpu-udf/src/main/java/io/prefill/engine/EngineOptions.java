package io.prefill.engine;

import java.io.Serializable;

/** Per-job choices that shape every document's prompt and output. */
public record EngineOptions(int topK, int maxTokens, LengthPolicy lengthPolicy, PromptTemplate template)
        implements Serializable {

    public EngineOptions {
        if (topK < 1) throw new IllegalArgumentException("top-k must be at least 1, got " + topK);
        if (maxTokens < 0) throw new IllegalArgumentException("maximum tokens must be >= 0 (0 = unlimited), got " + maxTokens);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(5, 0, LengthPolicy.ERROR, PromptTemplate.none());
    }
}
