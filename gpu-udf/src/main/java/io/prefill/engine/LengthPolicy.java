package io.prefill.engine;

import java.util.Arrays;
import java.util.Locale;

/** What to do with a prompt longer than the maximum: fail the document, or keep its head or tail. */
public enum LengthPolicy {
    ERROR, HEAD, TAIL;

    public static LengthPolicy parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown length policy '" + s + "': expected error, head or tail");
        }
    }

    /**
     * Applies the policy. TAIL keeps the first token when it is the tokenizer's BOS, because a
     * prompt without it is out of distribution for the model.
     */
    int[] apply(int[] tokens, int maxTokens, int bosTokenId) {
        if (maxTokens <= 0 || tokens.length <= maxTokens) return tokens;
        switch (this) {
            case HEAD:
                return Arrays.copyOf(tokens, maxTokens);
            case TAIL:
                if (bosTokenId >= 0 && tokens[0] == bosTokenId && maxTokens > 1) {
                    int[] kept = new int[maxTokens];
                    kept[0] = tokens[0];
                    System.arraycopy(tokens, tokens.length - (maxTokens - 1), kept, 1, maxTokens - 1);
                    return kept;
                }
                return Arrays.copyOfRange(tokens, tokens.length - maxTokens, tokens.length);
            default:
                throw new DocumentException(DocumentException.Kind.TOO_LONG, "the prompt has " + tokens.length
                        + " tokens, more than the maximum of " + maxTokens + " (length policy: error)");
        }
    }
}
