package io.prefill.sparse;

import java.nio.file.Path;
import java.util.List;

/**
 * Per layer and head pattern choice for one model, plus the length under which every head
 * runs dense. STUB: reading, validation and the schema belong to the sparse package owner.
 */
public record PatternConfig(String model, int numLayers, int numHeads, int minSparseLength,
                            List<List<HeadPattern>> heads) {

    public HeadPattern pattern(int layer, int head) { return heads.get(layer).get(head); }

    /** Reads our schema or MInference's published list format; errors name the file. STUB. */
    public static PatternConfig read(Path file) { throw new UnsupportedOperationException("stub"); }

    /** Fails unless layers and heads match the model. STUB. */
    public void validateFor(int modelLayers, int modelHeads, String source) {
        throw new UnsupportedOperationException("stub");
    }

    /** The same pattern for every head. */
    public static PatternConfig uniform(String model, int layers, int heads, int minSparseLength, HeadPattern p) {
        List<List<HeadPattern>> rows = new java.util.ArrayList<>();
        for (int l = 0; l < layers; l++) rows.add(java.util.Collections.nCopies(heads, p));
        return new PatternConfig(model, layers, heads, minSparseLength, List.copyOf(rows));
    }
}
