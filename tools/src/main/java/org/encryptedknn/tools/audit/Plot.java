package org.encryptedknn.tools.audit;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** Minimal line charts drawn with java.awt into a PNG (headless), so the audit needs no plotting dependency. */
public final class Plot {

    public record Series(String label, double[] x, double[] y) {}

    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0x17becf), new Color(0x7f7f7f)
    };

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final boolean logX;
    private final List<Series> series = new ArrayList<>();
    private final List<double[]> vLines = new ArrayList<>();
    private final List<String> vLabels = new ArrayList<>();
    private double yMin = 0;
    private double yMax = 1;

    public Plot(String title, String xLabel, String yLabel, boolean logX) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.logX = logX;
    }

    public Plot add(String label, double[] x, double[] y) {
        series.add(new Series(label, x, y));
        return this;
    }

    public Plot add(String label, int[] x, double[] y) {
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            xd[i] = x[i];
        }
        return add(label, xd, y);
    }

    public Plot verticalLine(double x, String label) {
        vLines.add(new double[] {x});
        vLabels.add(label);
        return this;
    }

    public Plot yRange(double min, double max) {
        yMin = min;
        yMax = max;
        return this;
    }

    public void write(Path file) throws IOException {
        int w = 900;
        int h = 560;
        int left = 80;
        int right = 260;
        int top = 50;
        int bottom = 70;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double xMin = Double.POSITIVE_INFINITY;
        double xMax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (double x : s.x()) {
                if (logX && x <= 0) {
                    continue;
                }
                xMin = Math.min(xMin, x);
                xMax = Math.max(xMax, x);
            }
        }
        for (double[] v : vLines) {
            xMin = Math.min(xMin, v[0]);
            xMax = Math.max(xMax, v[0]);
        }
        if (!(xMax > xMin)) {
            xMax = xMin + 1;
        }
        final double x0 = logX ? Math.log10(xMin) : xMin;
        final double x1 = logX ? Math.log10(xMax) : xMax;
        int pw = w - left - right;
        int ph = h - top - bottom;
        java.util.function.DoubleUnaryOperator px = x -> left + ((logX ? Math.log10(x) : x) - x0) / (x1 - x0) * pw;
        java.util.function.DoubleUnaryOperator py = y -> top + ph - (y - yMin) / (yMax - yMin) * ph;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(new Color(0xdddddd));
        for (int i = 0; i <= 10; i++) {
            double y = yMin + i * (yMax - yMin) / 10;
            int yy = (int) py.applyAsDouble(y);
            g.drawLine(left, yy, left + pw, yy);
        }
        List<Double> ticks = new ArrayList<>();
        if (logX) {
            for (int e = (int) Math.floor(x0); e <= Math.ceil(x1); e++) {
                for (int m : new int[] {1, 2, 5}) {
                    double t = m * Math.pow(10, e);
                    if (t >= xMin * 0.999 && t <= xMax * 1.001) {
                        ticks.add(t);
                    }
                }
            }
        } else {
            for (int i = 0; i <= 8; i++) {
                ticks.add(xMin + i * (xMax - xMin) / 8);
            }
        }
        for (double t : ticks) {
            int xx = (int) px.applyAsDouble(t);
            g.setColor(new Color(0xdddddd));
            g.drawLine(xx, top, xx, top + ph);
            g.setColor(Color.DARK_GRAY);
            String s = t >= 1000
                    ? String.format(Locale.ROOT, "%.0fk", t / 1000)
                    : (t == Math.rint(t)
                            ? String.format(Locale.ROOT, "%.0f", t)
                            : String.format(Locale.ROOT, "%.2f", t));
            g.drawString(s, xx - g.getFontMetrics().stringWidth(s) / 2, top + ph + 18);
        }
        g.setColor(Color.DARK_GRAY);
        for (int i = 0; i <= 10; i += 2) {
            double y = yMin + i * (yMax - yMin) / 10;
            String s = String.format(Locale.ROOT, "%.1f", y);
            g.drawString(s, left - 8 - g.getFontMetrics().stringWidth(s), (int) py.applyAsDouble(y) + 4);
        }
        g.drawRect(left, top, pw, ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, left, top - 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.drawString(xLabel + (logX ? " (log scale)" : ""), left + pw / 2 - 60, h - 25);
        Graphics2D gy = (Graphics2D) g.create();
        gy.rotate(-Math.PI / 2);
        gy.drawString(yLabel, -(top + ph / 2 + 40), 22);
        gy.dispose();
        for (int i = 0; i < vLines.size(); i++) {
            int xx = (int) px.applyAsDouble(vLines.get(i)[0]);
            g.setColor(Color.GRAY);
            g.setStroke(
                    new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {5f, 5f}, 0f));
            g.drawLine(xx, top, xx, top + ph);
            g.drawString(vLabels.get(i), xx + 4, top + 14 + 14 * i);
        }
        g.setStroke(new BasicStroke(2.2f));
        int legendY = top + 10;
        for (int si = 0; si < series.size(); si++) {
            Series s = series.get(si);
            Color color = COLORS[si % COLORS.length];
            g.setColor(color);
            int prevX = Integer.MIN_VALUE;
            int prevY = 0;
            for (int i = 0; i < s.x().length; i++) {
                if ((logX && s.x()[i] <= 0) || Double.isNaN(s.y()[i])) {
                    continue;
                }
                int xx = (int) px.applyAsDouble(s.x()[i]);
                int yy = (int) py.applyAsDouble(s.y()[i]);
                g.fillOval(xx - 3, yy - 3, 7, 7);
                if (prevX != Integer.MIN_VALUE) {
                    g.drawLine(prevX, prevY, xx, yy);
                }
                prevX = xx;
                prevY = yy;
            }
            g.fillRect(left + pw + 15, legendY + si * 22 - 5, 18, 4);
            g.setColor(Color.BLACK);
            String label = s.label().length() > 34 ? s.label().substring(0, 33) + "…" : s.label();
            g.drawString(label, left + pw + 38, legendY + si * 22);
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }
}
