package io.prefill.engine;

/**
 * The outcome of one document: either a first token with its metrics, or an error kind and
 * message (first is then null). Never both, never neither.
 */
public record DocumentResult(int promptTokens, int droppedTokens, FirstToken first, AttentionStats attention,
                             double prefillMillis, String backend, String errorKind, String error) {

    public boolean ok() { return error == null; }

    /** Tokens that went through the model: the prompt after the length policy; none for an error row. */
    public long prefilledTokens() { return ok() ? (long) promptTokens - droppedTokens : 0; }

    public static DocumentResult failed(String backend, int promptTokens, String kind, String message) {
        return new DocumentResult(promptTokens, 0, null, AttentionStats.NONE, 0, backend, kind, message);
    }
}
