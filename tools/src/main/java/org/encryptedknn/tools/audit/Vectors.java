package org.encryptedknn.tools.audit;

import java.util.Arrays;

/** Small dense-vector kernels for the audit (float storage, double accumulation). */
public final class Vectors {

    private Vectors() {}

    public static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    public static double norm(float[] a) {
        return Math.sqrt(dot(a, a));
    }

    public static double dist2(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double t = (double) a[i] - b[i];
            s += t * t;
        }
        return s;
    }

    public static float[] normalized(float[] x) {
        double n = norm(x);
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] / n);
        }
        return out;
    }

    public static float[][] normalizedAll(float[][] xs) {
        float[][] out = new float[xs.length][];
        for (int i = 0; i < xs.length; i++) {
            out[i] = normalized(xs[i]);
        }
        return out;
    }

    /** rows[i] = B x_i for a k×d row-major basis B (rows {@code from}..{@code from+k−1} of a d×d matrix). */
    public static float[][] project(float[][] xs, float[] basis, int d, int from, int k) {
        float[][] out = new float[xs.length][k];
        for (int i = 0; i < xs.length; i++) {
            float[] x = xs[i];
            float[] o = out[i];
            for (int r = 0; r < k; r++) {
                int base = (from + r) * d;
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += (double) basis[base + j] * x[j];
                }
                o[r] = (float) s;
            }
        }
        return out;
    }

    /**
     * The plaintext reference of stored residuals: [r; t] with t = √(T² − ‖r‖²) for a model with residual padding
     * (record residual v2, z = H_c·[r; t]), so ⟨[r_i; t_i], [r_j; t_j]⟩ is the stored same-cell pair value; r itself when
     * {@code residualNorm} T is 0 (an unpadded model, z = H_c·r).
     */
    public static float[][] storedResidualReference(float[][] r, double residualNorm) {
        if (residualNorm == 0) {
            return r;
        }
        float[][] out = new float[r.length][];
        for (int i = 0; i < r.length; i++) {
            out[i] = Arrays.copyOf(r[i], r[i].length + 1);
            out[i][r[i].length] = (float) Math.sqrt(Math.max(0, residualNorm * residualNorm - dot(r[i], r[i])));
        }
        return out;
    }

    /**
     * Indices of the {@code k} largest scores (best first); {@code exclude} (≥ 0) is skipped. Scores as
     * "higher is better" (pass negative distances).
     */
    public static int[] topK(double[] scores, int k, int exclude) {
        int n = scores.length;
        int kk = Math.min(k, n - (exclude >= 0 && exclude < n ? 1 : 0));
        if (kk <= 0) {
            return new int[0];
        }
        int[] heap = new int[kk]; // min-heap on score
        int size = 0;
        for (int i = 0; i < n; i++) {
            if (i == exclude || Double.isNaN(scores[i])) {
                continue;
            }
            double s = scores[i];
            if (size < kk) {
                heap[size] = i;
                int c = size++;
                while (c > 0) {
                    int p = (c - 1) >>> 1;
                    if (scores[heap[p]] <= scores[heap[c]]) {
                        break;
                    }
                    int t = heap[p];
                    heap[p] = heap[c];
                    heap[c] = t;
                    c = p;
                }
            } else if (s > scores[heap[0]]) {
                heap[0] = i;
                int c = 0;
                while (true) {
                    int l = 2 * c + 1;
                    int r = l + 1;
                    int m = c;
                    if (l < size && scores[heap[l]] < scores[heap[m]]) {
                        m = l;
                    }
                    if (r < size && scores[heap[r]] < scores[heap[m]]) {
                        m = r;
                    }
                    if (m == c) {
                        break;
                    }
                    int t = heap[m];
                    heap[m] = heap[c];
                    heap[c] = t;
                    c = m;
                }
            }
        }
        Integer[] boxed = new Integer[size];
        for (int i = 0; i < size; i++) {
            boxed[i] = heap[i];
        }
        Arrays.sort(boxed, (a, b) -> Double.compare(scores[b], scores[a]));
        int[] out = new int[size];
        for (int i = 0; i < size; i++) {
            out[i] = boxed[i];
        }
        return out;
    }

    /** Index of the largest score. */
    public static int argmax(double[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Negative squared L2 distance of q to every row. */
    /** Index of the row nearest {@code q} (squared Euclidean distance). */
    public static int nearest(float[] q, float[][] rows) {
        int best = -1;
        double bestD = Double.POSITIVE_INFINITY;
        for (int i = 0; i < rows.length; i++) {
            double dd = Vectors.dist2(q, rows[i]);
            if (dd < bestD) {
                bestD = dd;
                best = i;
            }
        }
        return best;
    }

    public static double[] negDist2(float[] q, float[][] rows) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = -dist2(q, rows[i]);
        }
        return out;
    }

    /** Inner product of q with every row. */
    public static double[] dots(float[] q, float[][] rows) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = dot(q, rows[i]);
        }
        return out;
    }
}
