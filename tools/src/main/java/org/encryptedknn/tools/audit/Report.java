package org.encryptedknn.tools.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The audit's markdown report: free text, tables, figure links and a one-line-per-leak summary. */
public final class Report {

    private final StringBuilder body = new StringBuilder();
    private final List<String[]> summary = new ArrayList<>();

    public Report heading(String text) {
        body.append("\n## ").append(text).append("\n\n");
        return this;
    }

    public Report text(String format, Object... args) {
        body.append(String.format(Locale.ROOT, format, args)).append("\n\n");
        return this;
    }

    public Report table(String[] header, List<String[]> rows) {
        body.append('|');
        for (String h : header) {
            body.append(' ').append(h).append(" |");
        }
        body.append("\n|");
        for (int i = 0; i < header.length; i++) {
            body.append("---|");
        }
        body.append('\n');
        for (String[] r : rows) {
            body.append('|');
            for (String c : r) {
                body.append(' ').append(c).append(" |");
            }
            body.append('\n');
        }
        body.append('\n');
        return this;
    }

    public Report image(String alt, String file) {
        body.append("![").append(alt).append("](").append(file).append(")\n\n");
        return this;
    }

    /** One row of the summary table: leak, metric, measured value, reference/target. */
    public Report summary(String leak, String metric, String value, String reference) {
        summary.add(new String[] {leak, metric, value, reference});
        return this;
    }

    public List<String[]> summaryRows() {
        return summary;
    }

    public String markdown(String title, String preamble) {
        StringBuilder out = new StringBuilder();
        out.append("# ").append(title).append("\n\n").append(preamble).append("\n\n## Summary\n\n");
        out.append("| leak | metric | measured | reference / target |\n|---|---|---|---|\n");
        for (String[] r : summary) {
            out.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        out.append(body);
        return out.toString();
    }

    public void write(Path file, String title, String preamble) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, markdown(title, preamble), StandardCharsets.UTF_8);
    }

    public static String f(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.3f", v);
    }

    public static String f2(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }

    public static String m(double v, double max) {
        return Double.isNaN(v)
                ? String.format(Locale.ROOT, "not reached (> %,.0f)", max)
                : String.format(Locale.ROOT, "%,.0f", v);
    }
}
