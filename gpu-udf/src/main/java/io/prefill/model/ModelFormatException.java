package io.prefill.model;

/** A model directory, file or config that cannot be used; the message names the file and the problem. */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) { super(message); }

    public ModelFormatException(String message, Throwable cause) { super(message, cause); }
}
