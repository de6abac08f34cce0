package io.prefill.sparse;

import java.io.Serializable;

/**
 * What one attention head computes during pre-fill. Budgets are checked here, so every way of
 * making a pattern (config files, code, the pattern search) rejects the same bad values.
 */
public sealed interface HeadPattern extends Serializable {

    /** Full causal attention. */
    record Dense() implements HeadPattern { }

    /**
     * Sink columns [0, nInit) plus the local window of the nLocal nearest keys. nInit may be 0 (a
     * plain sliding window); nLocal must be >= 1 so every row keeps its own key.
     */
    record AShape(int nInit, int nLocal) implements HeadPattern {
        public AShape {
            if (nInit < 0) throw new IllegalArgumentException("n_init must be >= 0, got " + nInit);
            if (nLocal < 1) throw new IllegalArgumentException("n_local must be >= 1, got " + nLocal);
        }
    }

    /** Top verticalSize key columns and top slashSize diagonals, found online per input. */
    record VerticalSlash(int verticalSize, int slashSize) implements HeadPattern {
        public VerticalSlash {
            if (verticalSize < 1) throw new IllegalArgumentException("vertical_size must be >= 1, got " + verticalSize);
            if (slashSize < 1) throw new IllegalArgumentException("slash_size must be >= 1, got " + slashSize);
        }
    }

    /** Top topBlocks 64x64 key blocks per query block, from mean-pooled Q and K. */
    record BlockSparse(int topBlocks) implements HeadPattern {
        public BlockSparse {
            if (topBlocks < 1) throw new IllegalArgumentException("top_blocks must be >= 1, got " + topBlocks);
        }
    }
}
