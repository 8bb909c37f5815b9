package org.encryptedknn.tools.audit;

import java.util.Arrays;

/** The audit's metrics: AUC, neighbour overlap, recall, re-identification rate, thresholds. */
public final class Metrics {

    private Metrics() {}

    /**
     * ROC AUC of "positives score higher than negatives" (Mann–Whitney U / (n_p n_n), ties count ½).
     * 1.0: perfectly separable; 0.5: indistinguishable.
     */
    public static double auc(double[] positives, double[] negatives) {
        int np = positives.length;
        int nn = negatives.length;
        if (np == 0 || nn == 0) {
            throw new IllegalArgumentException("AUC needs at least one positive and one negative score");
        }
        double[] all = new double[np + nn];
        boolean[] pos = new boolean[np + nn];
        Integer[] order = new Integer[np + nn];
        for (int i = 0; i < np; i++) {
            all[i] = positives[i];
            pos[i] = true;
        }
        System.arraycopy(negatives, 0, all, np, nn);
        for (int i = 0; i < all.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(all[a], all[b]));
        double rankSumPos = 0;
        int i = 0;
        while (i < order.length) {
            int j = i;
            while (j + 1 < order.length && all[order[j + 1]] == all[order[i]]) {
                j++;
            }
            double midRank = (i + j) / 2.0 + 1; // 1-based average rank of the tie group
            for (int k = i; k <= j; k++) {
                if (pos[order[k]]) {
                    rankSumPos += midRank;
                }
            }
            i = j + 1;
        }
        double u = rankSumPos - (double) np * (np + 1) / 2;
        return u / ((double) np * nn);
    }

    /** |A ∩ B| / k for two neighbour lists (the first k of each). */
    public static double overlap(int[] a, int[] b, int k) {
        int hits = 0;
        int ka = Math.min(k, a.length);
        int kb = Math.min(k, b.length);
        for (int i = 0; i < ka; i++) {
            for (int j = 0; j < kb; j++) {
                if (a[i] == b[j]) {
                    hits++;
                    break;
                }
            }
        }
        return hits / (double) k;
    }

    /** Mean over probes of {@link #overlap}: NN-overlap@k. */
    public static double meanOverlap(int[][] truth, int[][] observed, int k) {
        double s = 0;
        for (int i = 0; i < truth.length; i++) {
            s += overlap(truth[i], observed[i], k);
        }
        return s / truth.length;
    }

    /** recall@k: fraction of the exact top-k found in the first k of {@code found}. Same as overlap. */
    public static double recall(int[] exact, int[] found, int k) {
        return overlap(exact, found, k);
    }

    /** Smallest x with y(x) ≥ level, linearly interpolated between grid points; NaN if never reached. */
    public static double threshold(int[] xs, double[] ys, double level) {
        for (int i = 0; i < xs.length; i++) {
            if (ys[i] >= level) {
                if (i == 0) {
                    return xs[0];
                }
                double x0 = xs[i - 1];
                double y0 = ys[i - 1];
                return x0 + (level - y0) / (ys[i] - y0) * (xs[i] - x0);
            }
        }
        return Double.NaN;
    }

    /** Fraction of true entries. */
    public static double rate(boolean[] hits) {
        int n = 0;
        for (boolean h : hits) {
            if (h) {
                n++;
            }
        }
        return hits.length == 0 ? Double.NaN : n / (double) hits.length;
    }

    /** How many values reach {@code threshold} (e.g. cells holding enough records for a targeted key recovery). */
    public static int countAtLeast(int[] values, int threshold) {
        int count = 0;
        for (int v : values) {
            if (v >= threshold) {
                count++;
            }
        }
        return count;
    }
}
