package io.prefill.kv;

import java.io.Serializable;
import java.util.Locale;

/**
 * How a KV summary is selected (SnapKV-style) and how large one may get.
 *
 * @param window     observation window: the last {@code window} prompt queries vote, and are kept
 * @param topK       positions kept per layer and KV head by vote, besides the sinks and the window
 * @param sinkTokens first positions always kept (attention sinks)
 * @param poolKernel width of the 1-D pooling filter over the votes (odd, 1 = no pooling)
 * @param pooling    max or average pooling
 * @param maxBytes   a document whose summary would be larger gets an error row instead (0 = no limit)
 */
public record KvSummaryOptions(int window, int topK, int sinkTokens, int poolKernel, Pooling pooling, long maxBytes)
        implements Serializable {

    public enum Pooling {
        MAX, AVG;

        public static Pooling parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException("unknown KV pooling '" + s + "': expected max or avg");
            }
        }
    }

    public static final int DEFAULT_WINDOW = 32;
    public static final int DEFAULT_TOP_K = 1024;
    public static final int DEFAULT_SINKS = 4;
    public static final int DEFAULT_KERNEL = 7;
    /** 1 GiB: far above an 8B model's default summary (about 134 MiB), well below Spark's 2 GiB row limit. */
    public static final long DEFAULT_MAX_BYTES = 1L << 30;

    public KvSummaryOptions {
        if (window < 1) throw new IllegalArgumentException("KV observation window must be at least 1, got " + window);
        if (topK < 0) throw new IllegalArgumentException("KV top-k must be >= 0, got " + topK);
        if (sinkTokens < 0) throw new IllegalArgumentException("KV sink tokens must be >= 0, got " + sinkTokens);
        if (poolKernel < 1 || poolKernel % 2 == 0) {
            throw new IllegalArgumentException("KV pooling kernel must be odd and at least 1 (centred), got " + poolKernel);
        }
        if (pooling == null) throw new IllegalArgumentException("KV pooling must be max or avg, got null");
        if (maxBytes < 0) throw new IllegalArgumentException("KV size limit must be >= 0 (0 = no limit), got " + maxBytes);
    }

    public static KvSummaryOptions defaults() {
        return new KvSummaryOptions(DEFAULT_WINDOW, DEFAULT_TOP_K, DEFAULT_SINKS, DEFAULT_KERNEL, Pooling.MAX, DEFAULT_MAX_BYTES);
    }

    /** Budgets so large that every position of a prompt of up to {@code n} tokens is kept. */
    public static KvSummaryOptions keepEverything(int n) {
        return new KvSummaryOptions(1, n, 0, 1, Pooling.MAX, 0);
    }

    public KvSummaryOptions withTopK(int k) {
        return new KvSummaryOptions(window, k, sinkTokens, poolKernel, pooling, maxBytes);
    }

    public KvSummaryOptions withWindow(int w) {
        return new KvSummaryOptions(w, topK, sinkTokens, poolKernel, pooling, maxBytes);
    }

    public KvSummaryOptions withMaxBytes(long bytes) {
        return new KvSummaryOptions(window, topK, sinkTokens, poolKernel, pooling, bytes);
    }

    /** Positions kept per layer and KV head for a prompt of n tokens: known before any pre-fill. */
    public int keptPositions(int n) {
        long budget = (long) sinkTokens + topK + window;
        return (int) Math.min(n, budget);
    }

    /**
     * Bytes of a summary of n tokens: per layer and KV head, the kept positions' K and V in bf16
     * (2 bytes each) and their int32 positions.
     */
    public long summaryBytes(int n, int layers, int kvHeads, int headDim) {
        return (long) layers * kvHeads * keptPositions(n) * (2L * headDim * 2 + 4);
    }
}
