package io.prefill.model;

import java.nio.file.Path;

/** tokenizer.json through DJL's HuggingFaceTokenizer, configured never to truncate. STUB. */
public final class TextTokenizer implements AutoCloseable {

    public static TextTokenizer load(Path tokenizerJson) {
        throw new UnsupportedOperationException("stub");
    }

    /** Token ids of text, with the special tokens the tokenizer's post-processor adds (e.g. BOS). */
    public int[] encode(String text) { throw new UnsupportedOperationException("stub"); }

    public String decode(int[] ids) { throw new UnsupportedOperationException("stub"); }

    /** The text of one token as it would appear in decoded output. */
    public String tokenText(int id) { throw new UnsupportedOperationException("stub"); }

    @Override
    public void close() { }
}
