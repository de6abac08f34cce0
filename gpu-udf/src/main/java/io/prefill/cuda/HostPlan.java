package io.prefill.cuda;

import io.prefill.sparse.BlockPlan;
import java.util.Arrays;

/**
 * A downloaded CSR plan of all heads: per (head, 64-row query block) the key ranges
 * [rangeData[2r], rangeData[2r+1]) for r in [rangePtr[i], rangePtr[i+1]) and the gathered columns
 * colData[colPtr[i] .. colPtr[i+1]), i = head * queryBlocks + block.
 */
public record HostPlan(int heads, int seqLen, int[] rangePtr, int[] rangeData, int[] colPtr, int[] colData) {

    public int queryBlocks() { return BlockPlan.blocks(seqLen); }

    public BlockPlan head(int h) {
        return new HeadView(h);
    }

    /** Builds the CSR arrays from per-head plans (e.g. the CPU planner's) for upload. */
    public static HostPlan of(BlockPlan[] plans) {
        int n = plans[0].seqLen(), nqb = plans[0].numQueryBlocks(), heads = plans.length;
        int[] rp = new int[heads * nqb + 1], cp = new int[heads * nqb + 1];
        int rTotal = 0, cTotal = 0;
        for (int h = 0; h < heads; h++)
            for (int b = 0; b < nqb; b++) {
                rp[h * nqb + b] = rTotal;
                cp[h * nqb + b] = cTotal;
                rTotal += plans[h].ranges(b).length / 2;
                cTotal += plans[h].columns(b).length;
            }
        rp[heads * nqb] = rTotal;
        cp[heads * nqb] = cTotal;
        int[] rd = new int[2 * rTotal], cd = new int[cTotal];
        for (int h = 0; h < heads; h++)
            for (int b = 0; b < nqb; b++) {
                int[] r = plans[h].ranges(b), c = plans[h].columns(b);
                System.arraycopy(r, 0, rd, 2 * rp[h * nqb + b], r.length);
                System.arraycopy(c, 0, cd, cp[h * nqb + b], c.length);
            }
        return new HostPlan(heads, n, rp, rd, cp, cd);
    }

    private final class HeadView implements BlockPlan {
        private final int h;

        HeadView(int h) { this.h = h; }

        @Override public int seqLen() { return seqLen; }

        @Override public int[] ranges(int qb) {
            int i = h * queryBlocks() + qb;
            return Arrays.copyOfRange(rangeData, 2 * rangePtr[i], 2 * rangePtr[i + 1]);
        }

        @Override public int[] columns(int qb) {
            int i = h * queryBlocks() + qb;
            return Arrays.copyOfRange(colData, colPtr[i], colPtr[i + 1]);
        }

        @Override public boolean contains(int i, int j) {
            if (j > i || j < 0 || i >= seqLen) return false;
            int qb = i / BLOCK;
            int[] r = ranges(qb);
            for (int x = 0; x < r.length; x += 2) if (j >= r[x] && j < r[x + 1]) return true;
            return Arrays.binarySearch(columns(qb), j) >= 0;
        }

        @Override public long computedEntries() {
            long total = 0;
            for (int qb = 0; qb < queryBlocks(); qb++) {
                int r0 = qb * BLOCK, r1 = Math.min(r0 + BLOCK, seqLen);
                int[] r = ranges(qb);
                for (int x = 0; x < r.length; x += 2)
                    for (int i = r0; i < r1; i++) total += Math.max(0, Math.min(r[x + 1], i + 1) - r[x]);
                for (int c : columns(qb)) total += Math.max(0, r1 - Math.max(r0, c));
            }
            return total;
        }
    }
}
