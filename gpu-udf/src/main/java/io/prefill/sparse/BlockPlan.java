package io.prefill.sparse;

/**
 * Which keys each 64-row query block attends to: disjoint key ranges plus leftover single
 * columns, always under the causal mask. Every sparse pattern is turned into one of these, and
 * both backends compute exactly the entries it names: query i attends to key j when j <= i and
 * j lies in a range or is a column of i's block. {@link RangePlan} is the implementation.
 */
public interface BlockPlan {
    int BLOCK = 64;

    int seqLen();

    /** The 64-token blocks that cover {@code tokens} tokens (query blocks and key blocks alike). */
    static int blocks(int tokens) { return (tokens + BLOCK - 1) / BLOCK; }

    /** {@link #blocks(int)} for token counts held in a long (memory estimates). */
    static long blocks(long tokens) { return (tokens + BLOCK - 1) / BLOCK; }

    default int numQueryBlocks() { return blocks(seqLen()); }

    /** Flattened [start0, end0, start1, end1, ...] key ranges (end exclusive), sorted, disjoint. */
    int[] ranges(int queryBlock);

    /** Sorted key columns outside every range of this block. */
    int[] columns(int queryBlock);

    /** Whether query i attends to key j (j <= i implied). */
    boolean contains(int i, int j);

    /** Number of (i, j) entries computed, causal mask applied. */
    long computedEntries();

    /** Computed entries as a fraction of the n(n+1)/2 entries of dense causal attention. */
    default double density() {
        long n = seqLen();
        return n == 0 ? 1.0 : computedEntries() / (n * (n + 1) / 2.0);
    }
}
