package io.prefill.settings;

/**
 * A command line that cannot be run: an unknown or misspelled option, a missing or malformed value,
 * options that contradict each other. The message names the option; applications exit with the
 * usage code on it.
 */
public class UsageException extends IllegalArgumentException {
    public UsageException(String message) { super(message); }

    public UsageException(String message, Throwable cause) { super(message, cause); }
}
