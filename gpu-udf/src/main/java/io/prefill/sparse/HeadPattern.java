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

    /**
     * Vertical-slash whose budgets follow the input (FlexPrefill's query-aware rule): from the same
     * estimate as {@link VerticalSlash} (the last 64 queries' softmax over every key), the fewest
     * key columns whose probability mass reaches {@code gamma} of the estimate's total, and the
     * fewest diagonals likewise, the forced sink columns and local diagonals counted first. Each
     * count is then held within [minBudget, maxBudget]: a flat head gets at most maxBudget of each,
     * a peaked one at least minBudget.
     */
    record Adaptive(double gamma, int minBudget, int maxBudget) implements HeadPattern {
        /** The lower bound when a config gives none: the forced local diagonals. */
        public static final int DEFAULT_MIN_BUDGET = 100;
        /** The upper bound when a config gives none: MInference's default slash budget. */
        public static final int DEFAULT_MAX_BUDGET = 6096;

        public Adaptive {
            if (!(gamma > 0 && gamma <= 1)) throw new IllegalArgumentException("gamma must be in (0, 1], got " + gamma);
            if (minBudget < 1) throw new IllegalArgumentException("min_budget must be >= 1, got " + minBudget);
            if (maxBudget < minBudget) {
                throw new IllegalArgumentException("max_budget must be >= min_budget (" + minBudget + "), got " + maxBudget);
            }
        }
    }
}
