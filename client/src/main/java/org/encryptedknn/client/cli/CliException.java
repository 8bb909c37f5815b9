package org.encryptedknn.client.cli;

/**
 * A user error (bad option, missing or malformed file, wrong key, refused request): {@link Main} prints its message
 * as one line on stderr, without a stack trace, and exits with {@link #exitCode()}.
 */
public final class CliException extends RuntimeException {

    /** Exit code of usage errors (unknown option, missing required option, bad option value). */
    public static final int USAGE = 2;
    /** Exit code of every other user error (files, keys, the node's answers). */
    static final int FAILED = 1;

    private final int exitCode;

    CliException(String message) {
        this(FAILED, message);
    }

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public static CliException usage(String message) {
        return new CliException(USAGE, message);
    }

    int exitCode() {
        return exitCode;
    }
}
