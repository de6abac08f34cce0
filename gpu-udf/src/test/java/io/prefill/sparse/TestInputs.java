package io.prefill.sparse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;

/** Random Q/K/V and project files for the sparse and attention tests. */
public final class TestInputs {
    private TestInputs() { }

    /** n*d normal values with the given standard deviation. */
    public static float[] gaussian(Random random, int n, int d, double std) {
        float[] x = new float[n * d];
        for (int t = 0; t < x.length; t++) x[t] = (float) (random.nextGaussian() * std);
        return x;
    }

    /**
     * One head's q and k ([n, d] each, gaussian noise of the given deviation) where every query
     * leans along one direction (alternating signs over the channels) and the given keys carry that
     * direction strongly: the keys every query attends to, wherever they sit.
     */
    public static float[][] attendedKeys(Random random, int n, int d, double noise, float queryLean, float keyBoost,
                                         int... keys) {
        float[] q = gaussian(random, n, d, noise);
        float[] k = gaussian(random, n, d, noise);
        for (int i = 0; i < n; i++) for (int c = 0; c < d; c++) q[i * d + c] += queryLean * (c % 2 == 0 ? 1 : -1);
        for (int j : keys) for (int c = 0; c < d; c++) k[j * d + c] += keyBoost * (c % 2 == 0 ? 1 : -1);
        return new float[][] {q, k};
    }

    /** A file of the repository, found by walking up from the working directory (the module). */
    public static Optional<Path> projectFile(String relative) {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path candidate = dir.resolve(relative);
            if (Files.exists(candidate)) return Optional.of(candidate);
            dir = dir.getParent();
        }
        return Optional.empty();
    }

    /** Dense causal entries of an n-token sequence. */
    public static long causalEntries(int n) { return (long) n * (n + 1) / 2; }

    /** Brute-force count of plan.contains over every causal (i, j). */
    public static long bruteForceCount(BlockPlan plan) {
        long count = 0;
        for (int i = 0; i < plan.seqLen(); i++) {
            for (int j = 0; j <= i; j++) if (plan.contains(i, j)) count++;
        }
        return count;
    }

    /** Keys counted by walking the plan's ranges and columns row by row, duplicates included. */
    public static long countWithMultiplicity(BlockPlan plan) {
        long count = 0;
        for (int b = 0; b < plan.numQueryBlocks(); b++) {
            int[] ranges = plan.ranges(b);
            int[] columns = plan.columns(b);
            int r1 = Math.min((b + 1) * BlockPlan.BLOCK, plan.seqLen());
            for (int i = b * BlockPlan.BLOCK; i < r1; i++) {
                for (int t = 0; t < ranges.length; t += 2) count += Math.max(0, Math.min(ranges[t + 1], i + 1) - ranges[t]);
                for (int c : columns) if (c <= i) count++;
            }
        }
        return count;
    }

    /** k distinct sorted values from [0, bound), or all of them when k >= bound. */
    public static int[] randomSubset(Random random, int bound, int k) {
        boolean[] picked = new boolean[bound];
        int left = Math.min(k, bound);
        while (left > 0) {
            int v = random.nextInt(bound);
            if (!picked[v]) { picked[v] = true; left--; }
        }
        return java.util.stream.IntStream.range(0, bound).filter(v -> picked[v]).toArray();
    }
}
