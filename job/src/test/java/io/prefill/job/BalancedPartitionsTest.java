package io.prefill.job;

import io.prefill.engine.CostModel;
import io.prefill.model.Architecture;
import io.prefill.model.ModelConfig;
import io.prefill.model.RopeScaling;
import io.prefill.sparse.HeadPattern;
import io.prefill.sparse.PatternConfig;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BalancedPartitionsTest {
    private final ModelConfig llama = new ModelConfig(Architecture.LLAMA, 128256, 4096, 14336, 32, 32, 8, 128,
            1e-5, 500000, RopeScaling.NONE, 1 << 20, false, false, 128000, 128009);
    private final CostModel cost = new CostModel(llama,
            PatternConfig.uniform("m", 32, 32, 8192, new HeadPattern.VerticalSlash(1000, 6096)));

    @Test
    void skewedCorpusBalancesWithinTwentyFivePercent() {
        // 400 documents of 2K-6K tokens and 4 documents 100x longer (256K-600K)
        Random r = new Random(1);
        int[] tokens = new int[404];
        for (int i = 0; i < 400; i++) tokens[i] = 2048 + r.nextInt(4096);
        for (int i = 400; i < 404; i++) tokens[i] = 256_000 + r.nextInt(350_000);
        double[] costs = new double[tokens.length];
        for (int i = 0; i < tokens.length; i++) costs[i] = cost.flops(tokens[i]);

        // 4 partitions: every document is lighter than an even share, so all can balance
        BalancedPartitions plan = BalancedPartitions.plan(costs, 4);
        assertEquals(4, plan.partitions());
        assertTrue(plan.imbalance() <= 1.25, "imbalance " + plan.imbalance());

        // an equal-count split of the corpus in its input order (what row-based partitioning does)
        // is far worse: the long documents, stored together, land in one partition
        double[] naive = new double[4];
        for (int i = 0; i < costs.length; i++) naive[i * 4 / costs.length] += costs[i];
        double naiveImbalance = java.util.Arrays.stream(naive).max().getAsDouble()
                / java.util.Arrays.stream(naive).min().getAsDouble();
        assertTrue(naiveImbalance > 2 * plan.imbalance(), "naive " + naiveImbalance + " vs " + plan.imbalance());

        // the long documents are not piled together
        Set<Integer> longOnes = new HashSet<>();
        for (int i = 400; i < 404; i++) longOnes.add(plan.partitionOf(i));
        assertEquals(4, longOnes.size());

        // 8 partitions: a long document outweighs an even share, so it sits alone and the
        // partitions of short documents balance among themselves
        BalancedPartitions eight = BalancedPartitions.plan(costs, 8);
        double share = java.util.Arrays.stream(costs).sum() / 8;
        Set<Integer> heavyAlone = new HashSet<>();
        for (int i = 400; i < 404; i++) {
            if (costs[i] <= share) continue;
            heavyAlone.add(eight.partitionOf(i));
            assertEquals(costs[i], eight.load(eight.partitionOf(i)), 1e-6, "a heavy document shares its partition");
        }
        assertTrue(!heavyAlone.isEmpty(), "this corpus should have documents heavier than a share");
        double max = 0, min = Double.MAX_VALUE;
        for (int p = 0; p < 8; p++) {
            if (heavyAlone.contains(p)) continue;
            max = Math.max(max, eight.load(p));
            min = Math.min(min, eight.load(p));
        }
        assertTrue(max / min <= 1.25, "partitions without a heavy document: " + max / min);
    }

    @Test
    void aDocumentHeavierThanAShareGetsAPartitionOfItsOwn() {
        double[] costs = {1000, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        BalancedPartitions plan = BalancedPartitions.plan(costs, 3);
        int alone = plan.partitionOf(0);
        for (int i = 1; i < costs.length; i++) assertTrue(plan.partitionOf(i) != alone);
        assertEquals(1000, plan.load(alone));
        // the others are balanced among themselves
        double a = -1;
        for (int p = 0; p < 3; p++) {
            if (p == alone) continue;
            if (a < 0) a = plan.load(p);
            else assertEquals(a, plan.load(p), 1.0);
        }
    }

    @Test
    void everyDocumentIsAssignedExactlyOnceAndLoadsAddUp() {
        Random r = new Random(3);
        double[] costs = new double[1000];
        double total = 0;
        for (int i = 0; i < costs.length; i++) total += (costs[i] = r.nextDouble() * 100);
        BalancedPartitions plan = BalancedPartitions.plan(costs, 7);
        double[] recomputed = new double[7];
        for (int i = 0; i < costs.length; i++) recomputed[plan.partitionOf(i)] += costs[i];
        double sum = 0;
        for (int p = 0; p < 7; p++) {
            assertEquals(recomputed[p], plan.load(p), 1e-6);
            sum += plan.load(p);
        }
        assertEquals(total, sum, 1e-6);
    }

    @Test
    void partitionsOfErrorRowsOnlyDoNotMakeTheRatioInfinite() {
        // documents that fail before the pre-fill (empty text) cost nothing
        BalancedPartitions plan = BalancedPartitions.plan(new double[]{6, 3, 0, 0}, 3);
        assertEquals(6.0 / 3.0, plan.imbalance(), 1e-12);
        assertEquals(1, plan.withoutWork());
        assertEquals("heaviest/lightest 2.00; 1 with only documents that fail before the pre-fill", plan.balance());
        assertEquals("heaviest/lightest 1.00", BalancedPartitions.plan(new double[]{2, 2}, 2).balance());
        assertEquals("no document to pre-fill", BalancedPartitions.plan(new double[]{0, 0}, 2).balance());
    }

    @Test
    void moreBinsThanDocumentsShrinks() {
        assertEquals(2, BalancedPartitions.plan(new double[]{1, 2}, 10).partitions());
    }
}
