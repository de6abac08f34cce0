package io.prefill.sparse;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * MInference's block-sparse estimate for one query head: mean-pool Q and K over 64-token blocks,
 * score pooled query block against pooled key block, keep the best key blocks per query block.
 *
 * <p>The diagonal block and block 0 are always kept: the diagonal block holds each row's own key,
 * so no row is left without a key (its softmax would be undefined), and block 0 holds the
 * attention sinks that almost every head leans on. Both are counted in the budget, which is
 * therefore at least 2 (when there are 2 causal blocks); a budget of topBlocks keeps
 * min(max(topBlocks, 2), b + 1) key blocks for query block b. Ties go to the smaller block index
 * ({@link TopK}). Pooled vectors and block scores are float32 (sums in double).
 */
public final class BlockSparseEstimator {
    /** The smallest budget: block 0 and the diagonal block. */
    public static final int MIN_BLOCKS = 2;

    private BlockSparseEstimator() { }

    /** Key blocks query block b keeps under a budget of topBlocks: min(max(topBlocks, MIN_BLOCKS), b + 1). */
    public static int keptBlocks(int topBlocks, int b) { return Math.min(Math.max(topBlocks, MIN_BLOCKS), b + 1); }

    /** Per query block, the kept key blocks, sorted ascending, all <= the query block. */
    public static int[][] topKeyBlocks(float[] q, float[] k, int n, int d, int topBlocks) {
        VerticalSlashEstimator.checkShapes(q, k, n, d);
        if (topBlocks < 1) throw new IllegalArgumentException("topBlocks must be >= 1, got " + topBlocks);
        int blocks = BlockPlan.blocks(n);
        float[] pooledQ = meanPool(q, n, d);
        float[] pooledK = meanPool(k, n, d);
        int[][] kept = new int[blocks][];
        IntStream.range(0, blocks).parallel().forEach(b -> {
            float[] scores = blockScores(pooledQ, pooledK, b, d);
            scores[0] = Float.POSITIVE_INFINITY;
            scores[b] = Float.POSITIVE_INFINITY;
            kept[b] = TopK.select(scores, b + 1, keptBlocks(topBlocks, b));
        });
        return kept;
    }

    /** Scores of query block b against key blocks 0..b (the causal block mask). */
    static float[] blockScores(float[] pooledQ, float[] pooledK, int b, int d) {
        double scale = 1.0 / Math.sqrt(d);
        float[] scores = new float[b + 1];
        for (int kb = 0; kb <= b; kb++) {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double) pooledQ[b * d + c] * pooledK[kb * d + c];
            scores[kb] = (float) (dot * scale);
        }
        return scores;
    }

    /** [blocks, d] block means; the last, partial block is averaged over its real rows only. */
    static float[] meanPool(float[] x, int n, int d) {
        int blocks = BlockPlan.blocks(n);
        float[] pooled = new float[blocks * d];
        double[] sum = new double[d];
        for (int b = 0; b < blocks; b++) {
            int r0 = b * BlockPlan.BLOCK;
            int r1 = RangePlan.blockEnd(b, n);
            Arrays.fill(sum, 0);
            for (int i = r0; i < r1; i++) {
                for (int c = 0; c < d; c++) sum[c] += x[i * d + c];
            }
            for (int c = 0; c < d; c++) pooled[b * d + c] = (float) (sum[c] / (r1 - r0));
        }
        return pooled;
    }
}
