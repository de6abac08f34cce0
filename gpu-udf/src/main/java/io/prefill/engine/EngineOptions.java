package io.prefill.engine;

import java.io.Serializable;

/**
 * Per-job choices that shape every document's prompt and output.
 *
 * @param minSparseLength         prompts shorter than this run every head dense, whatever the
 *                                pattern config says; {@link #CONFIG_MIN_SPARSE_LENGTH} keeps the
 *                                config's own value (MInference-format files: 8192)
 * @param addSpecialTokens        whether tokenizing adds the tokenizer's special tokens (BOS);
 *                                false for prompts that already carry them or a chat template
 * @param allowBeyondMaxPositions whether prompts longer than the model's max_position_embeddings
 *                                run (for RoPE scaling that extends the model); otherwise they are
 *                                too_long error rows
 * @param minKeptMass             a sparse head whose plan keeps less of its last queries' attention
 *                                mass than this runs dense for that document (0 = never; the cpu
 *                                backend measures it)
 */
public record EngineOptions(int topK, int maxTokens, LengthPolicy lengthPolicy, PromptTemplate template,
                            int minSparseLength, boolean addSpecialTokens, boolean allowBeyondMaxPositions,
                            double minKeptMass)
        implements Serializable {

    /** minSparseLength value meaning: the pattern config's own. */
    public static final int CONFIG_MIN_SPARSE_LENGTH = -1;

    public EngineOptions {
        if (topK < 1) throw new IllegalArgumentException("top-k must be at least 1, got " + topK);
        if (maxTokens < 0) throw new IllegalArgumentException("maximum tokens must be >= 0 (0 = unlimited), got " + maxTokens);
        if (minSparseLength < CONFIG_MIN_SPARSE_LENGTH) {
            throw new IllegalArgumentException("minimum sparse length must be >= 0 (or -1: the config's), got " + minSparseLength);
        }
        if (!(minKeptMass >= 0 && minKeptMass <= 1)) {
            throw new IllegalArgumentException("minimum kept mass must be in [0, 1], got " + minKeptMass);
        }
    }

    /** No minimum kept mass. */
    public EngineOptions(int topK, int maxTokens, LengthPolicy lengthPolicy, PromptTemplate template,
                         int minSparseLength, boolean addSpecialTokens, boolean allowBeyondMaxPositions) {
        this(topK, maxTokens, lengthPolicy, template, minSparseLength, addSpecialTokens, allowBeyondMaxPositions, 0);
    }

    /** The config's min_sparse_length, special tokens added, prompts limited to the model's positions. */
    public EngineOptions(int topK, int maxTokens, LengthPolicy lengthPolicy, PromptTemplate template) {
        this(topK, maxTokens, lengthPolicy, template, CONFIG_MIN_SPARSE_LENGTH, true, false);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(5, 0, LengthPolicy.ERROR, PromptTemplate.none());
    }

    public EngineOptions withTopK(int k) {
        return new EngineOptions(k, maxTokens, lengthPolicy, template, minSparseLength, addSpecialTokens, allowBeyondMaxPositions,
                minKeptMass);
    }

    public EngineOptions withMinSparseLength(int n) {
        return new EngineOptions(topK, maxTokens, lengthPolicy, template, n, addSpecialTokens, allowBeyondMaxPositions,
                minKeptMass);
    }

    public EngineOptions withAddSpecialTokens(boolean add) {
        return new EngineOptions(topK, maxTokens, lengthPolicy, template, minSparseLength, add, allowBeyondMaxPositions,
                minKeptMass);
    }

    public EngineOptions withAllowBeyondMaxPositions(boolean allow) {
        return new EngineOptions(topK, maxTokens, lengthPolicy, template, minSparseLength, addSpecialTokens, allow,
                minKeptMass);
    }

    public EngineOptions withMinKeptMass(double m) {
        return new EngineOptions(topK, maxTokens, lengthPolicy, template, minSparseLength, addSpecialTokens,
                allowBeyondMaxPositions, m);
    }
}
