package io.prefill.engine;

import io.prefill.model.ModelConfig;
import io.prefill.sparse.BlockPlan;
import io.prefill.sparse.BlockSparseEstimator;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import io.prefill.sparse.VerticalSlashEstimator;

/**
 * Estimates a document's pre-fill cost in FLOPs from its token count and the pattern config,
 * before any pre-fill runs, so the job can balance partitions by work rather than by row count.
 * Linear layers grow with n; attention grows with the entries each head's pattern keeps, which is
 * n(n+1)/2 for dense heads and about n times the pattern's budget for sparse ones.
 */
public final class CostModel {
    private final ModelConfig model;
    private final PatternConfig patterns;

    public CostModel(ModelConfig model, PatternConfig patterns) {
        this.model = model;
        this.patterns = patterns;
    }

    /** FLOPs of one pre-fill of n tokens (projections, MLP, attention, last-position logits). */
    public double flops(int n) {
        if (n <= 0) return 0;
        return linearFlops(n) + attentionFlops(n);
    }

    /** 2 FLOPs per weight per token for every projection, plus the logits of the last token. */
    public double linearFlops(int n) {
        double h = model.hiddenSize();
        double q = (double) model.numHeads() * model.headDim();
        double kv = (double) model.numKvHeads() * model.headDim();
        double perLayer = h * (q + 2 * kv) + q * h + 3 * h * model.intermediateSize();
        return 2.0 * n * perLayer * model.numLayers() + 2.0 * h * model.vocabSize();
    }

    /** QK^T and PV: 4 d FLOPs per attention entry, summed over layers and heads. */
    public double attentionFlops(int n) {
        double entries = 0;
        for (int l = 0; l < patterns.numLayers(); l++) {
            for (int h = 0; h < patterns.numHeads(); h++) entries += entries(patterns.pattern(l, h), n);
        }
        return 4.0 * model.headDim() * entries;
    }

    /** Expected attention entries of one head; never more than dense. */
    double entries(HeadPattern pattern, int n) {
        double dense = n * (n + 1.0) / 2;
        if (n < patterns.minSparseLength()) return dense;
        double perRow;
        if (pattern instanceof HeadPattern.AShape a) {
            // sinks + window, widened by half a block on average by the 64-row rounding
            perRow = a.nInit() + a.nLocal() + BlockPlan.BLOCK / 2.0;
        } else if (pattern instanceof HeadPattern.VerticalSlash vs) {
            // each kept diagonal costs about one entry per row once ranges are merged into tiles
            perRow = Math.max(vs.verticalSize(), VerticalSlashEstimator.MIN_VERTICAL)
                    + Math.max(vs.slashSize(), VerticalSlashEstimator.MIN_SLASH) + BlockPlan.BLOCK / 2.0;
        } else if (pattern instanceof HeadPattern.Adaptive a) {
            // its budgets depend on the input: count the most it may keep
            perRow = 2.0 * a.maxBudget() + BlockPlan.BLOCK / 2.0;
        } else if (pattern instanceof HeadPattern.BlockSparse bs) {
            perRow = (double) Math.max(bs.topBlocks(), BlockSparseEstimator.MIN_BLOCKS) * BlockPlan.BLOCK;
        } else {
            return dense;
        }
        return Math.min(dense, n * perRow);
    }
}
