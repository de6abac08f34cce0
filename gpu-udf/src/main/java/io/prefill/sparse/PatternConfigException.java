package io.prefill.sparse;

/** A pattern config that cannot be read or does not fit the model; the message names the file. */
public class PatternConfigException extends IllegalArgumentException {
    public PatternConfigException(String message) { super(message); }

    public PatternConfigException(String message, Throwable cause) { super(message, cause); }
}
