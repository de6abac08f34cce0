package io.prefill.kv;

/**
 * A document's KV-summary outcome: the summary, or an error kind and message (summary null).
 * promptTokens is the summary's token count when it exists, else the prompt's length as far as known.
 */
public record KvSummaryResult(KvSummary summary, int promptTokens, String errorKind, String error) {
    /** The summary would exceed --kv-max-bytes. */
    public static final String TOO_LARGE = "kv_too_large";

    public static KvSummaryResult ok(KvSummary s) { return new KvSummaryResult(s, s.promptTokens(), null, null); }

    public static KvSummaryResult failed(int promptTokens, String kind, String message) {
        return new KvSummaryResult(null, promptTokens, kind, message);
    }

    public boolean ok() { return error == null; }

    /** The error of a summary over the limit, before any of it is built: the numbers say why. */
    public static KvSummaryResult tooLarge(int promptTokens, int prefilled, long bytes, KvSummaryOptions o,
                                           int layers, int kvHeads, int headDim) {
        return failed(promptTokens, TOO_LARGE, String.format("the KV summary would take %d bytes (%d layers x %d KV heads"
                        + " x %d kept positions x (head_dim %d x 2 (K, V) x 2 bytes + 4)), over the limit of %d bytes"
                        + " (--kv-max-bytes)", bytes, layers, kvHeads, o.keptPositions(prefilled), headDim, o.maxBytes()));
    }
}
