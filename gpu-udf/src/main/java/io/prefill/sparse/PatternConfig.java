package io.prefill.sparse;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Per layer and head pattern choice for one model, plus the length under which every head runs
 * dense. Heads are query heads. Files are either our schema "prefill-patterns/1" or MInference's
 * published list format; pattern-configs/README.md describes both.
 */
public record PatternConfig(String model, int numLayers, int numHeads, int minSparseLength,
                            List<List<HeadPattern>> heads) implements Serializable {

    /**
     * Below this many tokens every head runs dense when a file does not say otherwise. The paper
     * measured no gain under about 10K tokens (building the index costs 30-50% of a
     * FlashAttention-2 pass there); 8192 is that point rounded down to a power of two.
     */
    public static final int DEFAULT_MIN_SPARSE_LENGTH = 8192;
    /** What a head missing from a MInference file gets, and our schema's default default. */
    public static final HeadPattern MINFERENCE_DEFAULT = new HeadPattern.VerticalSlash(1000, 6096);
    /** Key blocks per query block that block_sparse keeps unless told otherwise (MInference's k). */
    public static final int DEFAULT_TOP_BLOCKS = 100;
    /** The "format" value of our schema. */
    public static final String FORMAT = PrefillPatternFormat.FORMAT;

    public PatternConfig {
        if (model == null) throw new IllegalArgumentException("model name is null");
        if (numLayers < 1 || numHeads < 1) {
            throw new IllegalArgumentException("need at least 1 layer and 1 head, got " + numLayers + " x " + numHeads);
        }
        if (minSparseLength < 0) throw new IllegalArgumentException("negative min_sparse_length " + minSparseLength);
        if (heads.size() != numLayers) {
            throw new IllegalArgumentException("expected " + numLayers + " layers of patterns, got " + heads.size());
        }
        List<List<HeadPattern>> copy = new ArrayList<>(numLayers);
        for (int l = 0; l < numLayers; l++) {
            List<HeadPattern> row = heads.get(l);
            if (row.size() != numHeads) {
                throw new IllegalArgumentException("layer " + l + " has " + row.size() + " patterns, expected " + numHeads);
            }
            copy.add(List.copyOf(row));
        }
        heads = List.copyOf(copy);
    }

    public HeadPattern pattern(int layer, int head) { return heads.get(layer).get(head); }

    /**
     * Reads our schema or MInference's published list format (told apart by the top-level JSON
     * type); errors name the file, and the layer and head where there is one.
     *
     * @throws PatternConfigException if the file cannot be read or is not a valid config
     */
    public static PatternConfig read(Path file) { return PatternConfigReader.read(file); }

    /** One head as our config format writes it: {"pattern": name, budget fields...}. */
    public static String patternJson(HeadPattern p) { return PrefillPatternFormat.patternJson(p); }

    /** Parses config text (either format); source names it in errors. */
    public static PatternConfig parse(String json, String source) {
        return PatternConfigReader.parse(json, source, source);
    }

    /** This config in our schema, the most common pattern written once as "default". */
    public String toJson() { return PrefillPatternFormat.write(this); }

    /** Writes {@link #toJson()} to a file. */
    public void write(Path file) throws IOException { Files.writeString(file, toJson()); }

    /**
     * Fails unless layers and heads match the model.
     *
     * @param modelHeads the model's query heads (num_attention_heads)
     * @param source     where this config came from (its file), for the message
     * @throws PatternConfigException naming the source and both shapes
     */
    public void validateFor(int modelLayers, int modelHeads, String source) {
        if (modelLayers != numLayers || modelHeads != numHeads) {
            throw new PatternConfigException("pattern config " + source + " (model \"" + model + "\") has " + numLayers
                + " layers x " + numHeads + " heads, but the model has " + modelLayers + " layers x "
                + modelHeads + " attention heads");
        }
    }

    /**
     * The same patterns with another dense-below length: how a job reproduces a reference run
     * whose threshold differs from the file's (MInference-format files are read with 8192).
     */
    public PatternConfig withMinSparseLength(int length) {
        return new PatternConfig(model, numLayers, numHeads, length, heads);
    }

    /** The same pattern for every head. */
    public static PatternConfig uniform(String model, int layers, int heads, int minSparseLength, HeadPattern p) {
        List<List<HeadPattern>> rows = new ArrayList<>();
        for (int l = 0; l < layers; l++) rows.add(Collections.nCopies(heads, p));
        return new PatternConfig(model, layers, heads, minSparseLength, List.copyOf(rows));
    }
}
