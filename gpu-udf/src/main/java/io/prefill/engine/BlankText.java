package io.prefill.engine;

/**
 * Whether a document has anything to read: text made only of whitespace (any Unicode space, the
 * no-break ones included), zero-width and other format characters (U+200B, U+2060, the BOM
 * U+FEFF) or control characters is as empty as "", and becomes an {@code empty_text} row.
 * {@link String#isBlank()} alone misses NBSP, U+2007, U+202F and the zero-width characters.
 */
public final class BlankText {
    private BlankText() { }

    public static boolean isBlank(String text) {
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            if (!invisible(c)) return false;
            i += Character.charCount(c);
        }
        return true;
    }

    private static boolean invisible(int c) {
        if (Character.isWhitespace(c) || Character.isSpaceChar(c)) return true;
        int type = Character.getType(c);
        return type == Character.FORMAT || type == Character.CONTROL;
    }
}
