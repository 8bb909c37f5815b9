package org.encryptedknn.tools.audit;

import java.util.Locale;

/** Progress on stderr, prefixed with the elapsed time. */
public final class ProgressLog {

    private final long t0 = System.nanoTime();
    private final boolean quiet;

    public ProgressLog(boolean quiet) {
        this.quiet = quiet;
    }

    public void info(String format, Object... args) {
        if (!quiet) {
            System.err.printf(Locale.ROOT, "[audit %6.1fs] %s%n", seconds(), String.format(Locale.ROOT, format, args));
        }
    }

    public double seconds() {
        return (System.nanoTime() - t0) / 1e9;
    }
}
