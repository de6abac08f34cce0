package io.prefill.search;

import java.util.Random;

/**
 * The planted model's vocabulary and embeddings. Each token id carries a few 0/1 features in fixed
 * hidden dimensions (what the heads' q and k projections read) and a random +-1 code in the rest
 * (what v_proj reads, so every id has its own value). Every row has the same norm, so RMSNorm
 * scales all tokens alike and the planted logits are the same at every position.
 */
final class PlantedTokens {
    /** Present in every token: the source of the constant query parts and of the keys' positional parts. */
    static final int BIAS = 0;
    /** The attention sink (BOS). */
    static final int SINK = 1;
    /** Column tokens of the first and the second vertical-slash head. */
    static final int COLUMN_A = 2;
    static final int COLUMN_B = 3;
    static final int TOPICS = 16;
    private static final int FIRST_TOPIC = 4;
    private static final int FIRST_PAD = FIRST_TOPIC + TOPICS;
    /** Every row has exactly this many 1 features (padded), so all rows have the same norm. */
    private static final int ONES = 3;
    static final int FIRST_NOISE = FIRST_PAD + ONES - 1;

    /** Ordinary ids come in this many variants per topic, so values vary inside a block. */
    static final int VARIANTS = 28;
    private static final int FIRST_COLUMN_ID = TOPICS * VARIANTS;

    private final int vocabSize;
    private final int bosId;
    private final int hidden;

    PlantedTokens(int vocabSize, int bosId, int hidden) {
        if (FIRST_COLUMN_ID + 2 * TOPICS > Math.min(vocabSize, bosId)) {
            throw new IllegalArgumentException("vocabulary of " + vocabSize + " too small for the planted ids");
        }
        if (hidden <= FIRST_NOISE) {
            throw new IllegalArgumentException("hidden size " + hidden + " leaves no dimensions for value codes");
        }
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.hidden = hidden;
    }

    static int topicFeature(int topic) { return FIRST_TOPIC + topic; }

    int bos() { return bosId; }

    static int ordinary(int topic, int variant) { return topic * VARIANTS + variant; }

    /** A column token (kind 0 for COLUMN_A, 1 for COLUMN_B) that also belongs to its block's topic. */
    static int column(int kind, int topic) { return FIRST_COLUMN_ID + kind * TOPICS + topic; }

    int noiseDims() { return hidden - FIRST_NOISE; }

    /** The embedding's common RMS, which the input norm's weight undoes so features come out as 0/1. */
    double rms() { return Math.sqrt((ONES + noiseDims()) / (double) hidden); }

    /** [vocab, hidden] row-major. */
    float[] embeddings(long seed) {
        Random random = new Random(seed);
        float[] e = new float[vocabSize * hidden];
        for (int id = 0; id < vocabSize; id++) {
            int row = id * hidden;
            int ones = 0;
            for (int f : features(id)) {
                e[row + f] = 1;
                ones++;
            }
            for (int p = 0; ones < ONES; p++, ones++) e[row + FIRST_PAD + p] = 1;
            for (int c = FIRST_NOISE; c < hidden; c++) e[row + c] = random.nextBoolean() ? 1 : -1;
        }
        return e;
    }

    private int[] features(int id) {
        if (id == bosId) return new int[] {BIAS, SINK};
        if (id < FIRST_COLUMN_ID) return new int[] {BIAS, topicFeature(id / VARIANTS)};
        if (id < FIRST_COLUMN_ID + 2 * TOPICS) {
            int kind = (id - FIRST_COLUMN_ID) / TOPICS;
            return new int[] {BIAS, kind == 0 ? COLUMN_A : COLUMN_B, topicFeature((id - FIRST_COLUMN_ID) % TOPICS)};
        }
        return new int[] {BIAS};
    }
}
