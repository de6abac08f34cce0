package io.prefill.cuda;

import io.prefill.sparse.BlockPlan;

/**
 * One layer's attention: Q and O are [heads, seqLen, headDim], K and V [kvHeads, seqLen, headDim],
 * bf16 row-major on the device; query head h reads kv head h / (heads / kvHeads).
 */
public record AttentionShape(int heads, int kvHeads, int seqLen, int headDim) {
    public AttentionShape {
        if (headDim != 64 && headDim != 128) throw new IllegalArgumentException("headDim must be 64 or 128, got " + headDim);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new IllegalArgumentException("heads " + heads + " must be a positive multiple of kvHeads " + kvHeads);
        if (seqLen <= 0) throw new IllegalArgumentException("seqLen must be positive, got " + seqLen);
        // Kernels index tensors with 64-bit offsets; plans address (head, 64-row block) slots with int.
        if ((long) heads * BlockPlan.blocks(seqLen) >= Integer.MAX_VALUE)
            throw new IllegalArgumentException("layer too large for one launch: heads=" + heads + " n=" + seqLen);
    }

    public int queryBlocks() { return BlockPlan.blocks(seqLen); }
    public long qElements() { return (long) heads * seqLen * headDim; }
    public long kvElements() { return (long) kvHeads * seqLen * headDim; }

    /** Causal entries of dense attention, all heads. */
    public long denseEntries() { return (long) heads * seqLen * (seqLen + 1L) / 2; }

    /** FLOPs of computing `entries` (i, j) pairs: two GEMMs of 2*headDim each. */
    public double flops(long entries) { return 4.0 * headDim * entries; }

    @Override public String toString() {
        return "heads=" + heads + " kvHeads=" + kvHeads + " n=" + seqLen + " d=" + headDim;
    }
}
