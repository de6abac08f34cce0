package io.prefill.search;

import io.prefill.sparse.BlockPlan;

import java.util.List;

import static io.prefill.search.PlantedTokens.BIAS;
import static io.prefill.search.PlantedTokens.SINK;

/**
 * One attention head of the planted model: the pre-RoPE query and key vectors its q_proj and
 * k_proj give each embedding feature, and the key positions its dense attention should keep.
 *
 * <p>RoPE rotates pair (f, f + 32) of a 64-dim head by position * w_f, so a pair's contribution
 * to q_i . k_j is Re(Q conj(K) e^{i w_f (i - j)}) for the pre-RoPE pairs Q and K as complex
 * numbers. Two uses follow. Positional: Q = a and K = a e^{i w_f o} in every fast pair sum to
 * a kernel sum_f a^2 cos(w_f (i - j - o)) that peaks sharply at distance o (o = 0 is the local
 * window). Content: with rope_theta 1e6 the 8 slowest pairs turn by at most 0.13 rad over the
 * 4096-token prompt, so a real Q times a real K there is a nearly constant logit at any distance.
 * Query parts that every token shares come from the BIAS feature; keys of BOS and column tokens
 * cancel their positional part, so their logit is the content one alone.
 */
sealed interface PlantedHead {
    int DIM = 64;
    int HALF = DIM / 2;
    /** Content queries have this size, so a content key's size is its logit: q.k / sqrt(64) = k. */
    double CONTENT_QUERY = Math.sqrt(DIM);

    /** The name the search should give this head ({@link PatternFamily#patternName()}). */
    String patternName();

    /** Adds this head's pre-RoPE vectors per feature: query[feature][c] and key[feature][c]. */
    void project(float[][] query, float[][] key, double[] invFreq);

    /** The named parts of the planted structure, e.g. sink, columns, slash. */
    List<String> parts();

    /** The index in {@link #parts()} of the part of query i's planted structure that key j is in, or -1. */
    int part(PlantedDocument doc, int i, int j);

    /**
     * BOS (a sink, sinkShare of each row) and a local window: the kernel at offset 0 over pairs
     * [from, to), whose fastest pair is slow enough to spread the window over about ten keys.
     */
    record SinkWindow(int from, int to, double amplitude, double sinkShare, int window) implements PlantedHead {
        @Override public String patternName() { return "a_shape"; }

        @Override
        public void project(float[][] query, float[][] key, double[] invFreq) {
            for (int f = from; f < to; f++) {
                add(query[BIAS], f, amplitude, 0);
                add(key[BIAS], f, amplitude, 0);
                add(key[SINK], f, -amplitude, 0);
            }
            double windowMass = kernelMass(invFreq, from, to, amplitude, 0, PlantedDocument.LENGTH);
            double sink = kernel(invFreq, from, to, amplitude, 0) + Math.log(windowMass * sinkShare / (1 - sinkShare));
            add(query[BIAS], HALF - 1, CONTENT_QUERY, 0);
            add(key[SINK], HALF - 1, sink, 0);
        }

        @Override public List<String> parts() { return List.of("sink", "window"); }

        @Override
        public int part(PlantedDocument doc, int i, int j) { return j == 0 ? 0 : i - j < window ? 1 : -1; }
    }

    /**
     * BOS, planted column tokens (the ones carrying columnFeature) and one diagonal at a far
     * offset, over the fastest pairs [0, to) so it is only ~3 keys wide. Each column gets
     * columnShare and BOS sinkShare of a row that sees them all; the diagonal gets the rest.
     */
    record ColumnsAndSlash(int columnFeature, int[] columns, int offset, int to, double amplitude,
                           double columnShare, double sinkShare) implements PlantedHead {
        @Override public String patternName() { return "vertical_slash"; }

        @Override
        public void project(float[][] query, float[][] key, double[] invFreq) {
            for (int f = 0; f < to; f++) {
                double re = amplitude * Math.cos(invFreq[f] * offset);
                double im = amplitude * Math.sin(invFreq[f] * offset);
                add(query[BIAS], f, amplitude, 0);
                add(key[BIAS], f, re, im);
                add(key[columnFeature], f, -re, -im);
                add(key[SINK], f, -re, -im);
            }
            double peak = kernel(invFreq, 0, to, amplitude, 0);
            double slash = kernelMass(invFreq, 0, to, amplitude, -PlantedDocument.LENGTH, PlantedDocument.LENGTH);
            double slashShare = 1 - columns.length * columnShare - sinkShare;
            add(query[BIAS], HALF - 2, CONTENT_QUERY, 0);
            add(key[columnFeature], HALF - 2, peak + Math.log(slash * columnShare / slashShare), 0);
            add(query[BIAS], HALF - 1, CONTENT_QUERY, 0);
            add(key[SINK], HALF - 1, peak + Math.log(slash * sinkShare / slashShare), 0);
        }

        @Override public List<String> parts() { return List.of("sink", "columns", "slash"); }

        @Override
        public int part(PlantedDocument doc, int i, int j) {
            if (j == 0) return 0;
            if (PlantedDocument.isColumn(columns, j)) return 1;
            return Math.abs(i - j - offset) <= 4 ? 2 : -1;
        }
    }

    /**
     * Every token attends to the tokens of its own topic: topic t gets its own slot (real or
     * imaginary part of one of the 8 slowest pairs), so a query block attends to the whole
     * earlier blocks of its topic and to nothing else.
     */
    record TopicBlocks(double logit) implements PlantedHead {
        private static final double KEY = 32;

        @Override public String patternName() { return "block_sparse"; }

        @Override
        public void project(float[][] query, float[][] key, double[] invFreq) {
            for (int t = 0; t < PlantedTokens.TOPICS; t++) {
                int pair = HALF - PlantedTokens.TOPICS / 2 + t / 2;
                boolean real = t % 2 == 0;
                int feature = PlantedTokens.topicFeature(t);
                double q = logit * CONTENT_QUERY / KEY;
                add(query[feature], pair, real ? q : 0, real ? 0 : q);
                add(key[feature], pair, real ? KEY : 0, real ? 0 : KEY);
            }
        }

        @Override public List<String> parts() { return List.of("own block", "earlier blocks of its topic"); }

        @Override
        public int part(PlantedDocument doc, int i, int j) {
            if (doc.topicAt(i) != doc.topicAt(j)) return -1;
            return i / BlockPlan.BLOCK == j / BlockPlan.BLOCK ? 0 : 1;
        }
    }

    private static void add(float[] v, int pair, double re, double im) {
        v[pair] += (float) re;
        v[pair + HALF] += (float) im;
    }

    /** The positional logit at distance x of a kernel with Q = K = amplitude over pairs [from, to). */
    private static double kernel(double[] invFreq, int from, int to, double amplitude, int x) {
        double sum = 0;
        for (int f = from; f < to; f++) sum += amplitude * amplitude * Math.cos(invFreq[f] * x);
        return sum / Math.sqrt(DIM);
    }

    /** sum over x in [lo, hi) of exp(kernel(x) - kernel(0)): the kernel's softmax weight relative to its peak. */
    private static double kernelMass(double[] invFreq, int from, int to, double amplitude, int lo, int hi) {
        double peak = kernel(invFreq, from, to, amplitude, 0);
        double sum = 0;
        for (int x = lo; x < hi; x++) sum += Math.exp(kernel(invFreq, from, to, amplitude, x) - peak);
        return sum;
    }
}
