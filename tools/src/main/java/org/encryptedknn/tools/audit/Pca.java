package org.encryptedknn.tools.audit;

import java.util.Arrays;
import org.encryptedknn.model.SecondMoment;

/**
 * Principal frame of a point cloud as an attacker computes it: eigenvectors of the <b>uncentred</b> second moment
 * (1/n) Σ x xᵀ (the frame the crypto core fits, docs/design.md §2) by descending eigenvalue, plus per-axis first and third
 * moments used to fix the sign ambiguity (DCPE overview, "Known Sample").
 */
public final class Pca {

    /** Rows: eigenvectors (k×dim, row-major); eigenvalues descending; moments of the projections. */
    public record Frame(
            int dim, int k, double[] vectors, double[] eigenvalues, double[] mean, double[] std, double[] skew) {

        /** Coordinates of x in the frame (k values). */
        public float[] project(float[] x) {
            float[] out = new float[k];
            for (int r = 0; r < k; r++) {
                double s = 0;
                int base = r * dim;
                for (int j = 0; j < dim; j++) {
                    s += vectors[base + j] * x[j];
                }
                out[r] = (float) s;
            }
            return out;
        }
    }

    private Pca() {}

    /** Top-{@code k} frame of {@code xs}. */
    public static Frame fit(float[][] xs, int k) {
        int n = xs.length;
        int d = xs[0].length;
        SecondMoment moment = new SecondMoment(d);
        for (float[] x : xs) {
            moment.add(x);
        }
        SecondMoment.Eigen eigen = moment.eigen();
        double[] vec = Arrays.copyOf(eigen.vectors(), k * d);
        double[] ev = Arrays.copyOf(eigen.values(), k);
        double[] mean = new double[k];
        double[] m2 = new double[k];
        double[] m3 = new double[k];
        Frame f0 = new Frame(d, k, vec, ev, null, null, null);
        for (float[] x : xs) {
            float[] y = f0.project(x);
            for (int r = 0; r < k; r++) {
                mean[r] += y[r];
            }
        }
        for (int r = 0; r < k; r++) {
            mean[r] /= n;
        }
        for (float[] x : xs) {
            float[] y = f0.project(x);
            for (int r = 0; r < k; r++) {
                double c = y[r] - mean[r];
                m2[r] += c * c;
                m3[r] += c * c * c;
            }
        }
        double[] std = new double[k];
        double[] skew = new double[k];
        for (int r = 0; r < k; r++) {
            std[r] = Math.sqrt(m2[r] / n);
            skew[r] = std[r] > 0 ? (m3[r] / n) / (std[r] * std[r] * std[r]) : 0;
        }
        return new Frame(d, k, vec, ev, mean, std, skew);
    }

    /**
     * Per-axis signs that make the ciphertext frame agree with the plaintext frame, from moments only: the sign of
     * the mean projection when it is clearly non-zero on both sides (|mean|/std ≥ 0.2), otherwise the sign of the
     * skewness.
     */
    public static int[] momentSigns(Frame plain, Frame cipher) {
        int k = Math.min(plain.k(), cipher.k());
        int[] s = new int[k];
        for (int r = 0; r < k; r++) {
            double tp = plain.mean()[r] / plain.std()[r];
            double tc = cipher.mean()[r] / cipher.std()[r];
            if (Math.abs(tp) >= 0.2 && Math.abs(tc) >= 0.2) {
                s[r] = Math.signum(tp) == Math.signum(tc) ? 1 : -1;
            } else {
                s[r] = Math.signum(plain.skew()[r]) == Math.signum(cipher.skew()[r]) ? 1 : -1;
            }
        }
        return s;
    }

    /** Per-axis signs from a few known pairs: sign of Σ_a (plain coordinate)(cipher coordinate). */
    public static int[] anchorSigns(Frame plain, Frame cipher, float[][] plainAnchors, float[][] cipherAnchors) {
        int k = Math.min(plain.k(), cipher.k());
        double[] acc = new double[k];
        for (int a = 0; a < plainAnchors.length; a++) {
            float[] yp = plain.project(plainAnchors[a]);
            float[] yc = cipher.project(cipherAnchors[a]);
            for (int r = 0; r < k; r++) {
                acc[r] += (double) yp[r] * yc[r];
            }
        }
        int[] s = new int[k];
        for (int r = 0; r < k; r++) {
            s[r] = acc[r] >= 0 ? 1 : -1;
        }
        return s;
    }
}
