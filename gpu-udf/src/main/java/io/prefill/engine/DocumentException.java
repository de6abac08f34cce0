package io.prefill.engine;

import java.util.Locale;

/** A problem with one document: it becomes an error row, and the job goes on. */
public class DocumentException extends RuntimeException {
    /** Stable error kinds, written to the output's error_kind column. */
    public enum Kind {
        EMPTY_TEXT, TOO_LONG, TOKENIZER, TEMPLATE, ENGINE,
        /** The document's working set does not fit the GPU memory budget even in the smallest chunks. */
        DEVICE_MEMORY,
        /** The input row could not be read as a document (a JSON line that is not an object, text that is not UTF-8). */
        UNPARSEABLE;

        public String label() { return name().toLowerCase(Locale.ROOT); }
    }

    private final Kind kind;

    public DocumentException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public DocumentException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() { return kind; }
}
