package io.prefill.engine;

/** The model's next token after the prompt: greedy choice plus the top-k alternatives. */
public record FirstToken(int tokenId, String tokenText, double logprob,
                         int[] topIds, String[] topTexts, double[] topLogprobs) { }
