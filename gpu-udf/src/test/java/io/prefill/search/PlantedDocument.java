package io.prefill.search;

import io.prefill.sparse.BlockPlan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The calibration prompt of the planted model: BOS at position 0, column tokens at scattered
 * positions, and every 64-token block about one topic. Each topic covers 4 blocks placed at random,
 * so the blocks a query block shares its topic with are neither fixed columns nor fixed diagonals,
 * and there are at most 3 earlier ones: with block 0 and the diagonal block, 5 blocks, what the
 * block-sparse family affords at 15% of dense.
 */
final class PlantedDocument {
    static final int LENGTH = 4096;
    static final int[] COLUMNS_A = {300, 777, 1234, 1900, 2500, 3100, 3600};
    static final int[] COLUMNS_B = {450, 1010, 1555, 2049, 2750, 3333, 3790, 3980};

    private final int[] blockTopics;
    private final int[] tokens;

    PlantedDocument(PlantedTokens vocabulary, long seed) {
        int blocks = LENGTH / BlockPlan.BLOCK;
        List<Integer> topics = new ArrayList<>();
        for (int b = 0; b < blocks; b++) topics.add(b % PlantedTokens.TOPICS);
        Random random = new Random(seed);
        Collections.shuffle(topics, random);
        blockTopics = topics.stream().mapToInt(Integer::intValue).toArray();
        tokens = new int[LENGTH];
        tokens[0] = vocabulary.bos();
        for (int p = 1; p < LENGTH; p++) {
            tokens[p] = PlantedTokens.ordinary(topicAt(p), random.nextInt(PlantedTokens.VARIANTS));
        }
        for (int p : COLUMNS_A) tokens[p] = PlantedTokens.column(0, topicAt(p));
        for (int p : COLUMNS_B) tokens[p] = PlantedTokens.column(1, topicAt(p));
    }

    int[] tokens() { return tokens.clone(); }

    /** The topic of the token at position p; BOS has none (-1). */
    int topicAt(int p) { return p == 0 ? -1 : blockTopics[p / BlockPlan.BLOCK]; }

    static boolean isColumn(int[] columns, int p) { return Arrays.binarySearch(columns, p) >= 0; }
}
