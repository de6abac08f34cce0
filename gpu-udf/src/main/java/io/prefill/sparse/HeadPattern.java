package io.prefill.sparse;

/** What one attention head computes during pre-fill. */
public sealed interface HeadPattern {

    /** Full causal attention. */
    record Dense() implements HeadPattern { }

    /** Sink columns [0, nInit) plus the local window of the nLocal nearest keys. */
    record AShape(int nInit, int nLocal) implements HeadPattern { }

    /** Top verticalSize key columns and top slashSize diagonals, found online per input. */
    record VerticalSlash(int verticalSize, int slashSize) implements HeadPattern { }

    /** Top topBlocks 64x64 key blocks per query block, from mean-pooled Q and K. */
    record BlockSparse(int topBlocks) implements HeadPattern { }
}
