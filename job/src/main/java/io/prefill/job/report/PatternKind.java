package io.prefill.job.report;

import io.prefill.sparse.HeadPattern;

import java.awt.Color;

/**
 * The head patterns as categories, named as in pattern config files, with the colour the
 * heat map gives each (Okabe-Ito palette, so the categories stay apart for colour-blind readers).
 */
public enum PatternKind {
    DENSE("dense", "dense", 0x999999),
    A_SHAPE("a_shape", "A-shape", 0x0072B2),
    VERTICAL_SLASH("vertical_slash", "vertical-slash", 0xE69F00),
    BLOCK_SPARSE("block_sparse", "block-sparse", 0x009E73),
    ADAPTIVE("adaptive", "adaptive", 0xCC79A7);

    private final String configName;
    private final String label;
    private final int rgb;

    PatternKind(String configName, String label, int rgb) {
        this.configName = configName;
        this.label = label;
        this.rgb = rgb;
    }

    /** The name pattern config files use ("vertical_slash"). */
    public String configName() { return configName; }

    /** The name shown in legends ("vertical-slash"). */
    public String label() { return label; }

    public Color color() { return new Color(rgb); }

    public static PatternKind of(HeadPattern p) {
        if (p instanceof HeadPattern.Dense) return DENSE;
        if (p instanceof HeadPattern.AShape) return A_SHAPE;
        if (p instanceof HeadPattern.VerticalSlash) return VERTICAL_SLASH;
        if (p instanceof HeadPattern.BlockSparse) return BLOCK_SPARSE;
        if (p instanceof HeadPattern.Adaptive) return ADAPTIVE;
        throw new IllegalArgumentException("unknown head pattern " + p);
    }
}
