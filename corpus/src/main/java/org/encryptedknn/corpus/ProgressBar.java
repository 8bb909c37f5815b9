package org.encryptedknn.corpus;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar on stderr. On a terminal it redraws one line (at most five times a second);
 * otherwise (CI logs, redirected stderr) it prints a line every 10 %.
 * Silenced with {@code -Dencrypted_knn.progress=false}.
 */
public final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 30;

    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean enabled;
    private final boolean interactive;
    private final long startNanos = System.nanoTime();
    private long done;
    private long lastDrawNanos;
    private int lastDecile = -1;

    public ProgressBar(String label, long total) {
        this(label, total, System.err);
    }

    public ProgressBar(String label, long total, PrintStream out) {
        this.label = label;
        this.total = Math.max(0, total);
        this.out = out;
        this.enabled = !"false".equalsIgnoreCase(System.getProperty("encrypted_knn.progress", "true"));
        this.interactive = System.console() != null;
    }

    public synchronized void step(long n) {
        done += n;
        draw(false);
    }

    private void draw(boolean last) {
        if (!enabled || total == 0) {
            return;
        }
        long now = System.nanoTime();
        double secs = (now - startNanos) / 1e9;
        double rate = secs > 0 ? done / secs : 0;
        double frac = Math.min(1.0, (double) done / total);
        String eta = rate > 0 && done < total ? String.format(Locale.ROOT, " ETA %.0fs", (total - done) / rate) : "";
        if (interactive) {
            if (!last && now - lastDrawNanos < 200_000_000L && done < total) {
                return;
            }
            lastDrawNanos = now;
            int filled = (int) Math.round(frac * WIDTH);
            out.print(String.format(
                    Locale.ROOT,
                    "\r%s [%s%s] %d/%d %.1f/s %.0fs%s   ",
                    label,
                    "#".repeat(filled),
                    ".".repeat(WIDTH - filled),
                    done,
                    total,
                    rate,
                    secs,
                    eta));
            if (last) {
                out.println();
            }
            out.flush();
        } else {
            int decile = (int) (frac * 10);
            if (decile != lastDecile || last) {
                if (last && decile == lastDecile) {
                    return;
                }
                lastDecile = decile;
                out.println(String.format(
                        Locale.ROOT,
                        "%s: %d/%d (%d%%) %.1f/s %.0fs%s",
                        label,
                        done,
                        total,
                        (int) (frac * 100),
                        rate,
                        secs,
                        eta));
                out.flush();
            }
        }
    }

    @Override
    public synchronized void close() {
        draw(true);
    }
}
