package io.prefill.job.report;

import io.prefill.sparse.HeadPattern;

/**
 * One attention head of a pattern config: its pattern and budget in words ("vertical 64, slash 256")
 * and in a few characters for a heat-map cell ("64/256").
 */
public record PatternCell(int layer, int head, PatternKind kind, String budget, String shortBudget) {

    public static PatternCell of(int layer, int head, HeadPattern p) {
        if (p instanceof HeadPattern.AShape a) {
            return new PatternCell(layer, head, PatternKind.A_SHAPE,
                    "init " + a.nInit() + " + local " + a.nLocal(), a.nInit() + "+" + a.nLocal());
        }
        if (p instanceof HeadPattern.VerticalSlash vs) {
            return new PatternCell(layer, head, PatternKind.VERTICAL_SLASH,
                    "vertical " + vs.verticalSize() + ", slash " + vs.slashSize(), vs.verticalSize() + "/" + vs.slashSize());
        }
        if (p instanceof HeadPattern.BlockSparse b) {
            return new PatternCell(layer, head, PatternKind.BLOCK_SPARSE,
                    "top " + b.topBlocks() + " blocks", b.topBlocks() + " blk");
        }
        if (p instanceof HeadPattern.Adaptive a) {
            String gamma = java.math.BigDecimal.valueOf(a.gamma()).stripTrailingZeros().toPlainString();
            return new PatternCell(layer, head, PatternKind.ADAPTIVE,
                    "mass " + gamma + ", budgets " + a.minBudget() + "-" + a.maxBudget(), gamma);
        }
        return new PatternCell(layer, head, PatternKind.DENSE, "all keys", "");
    }
}
