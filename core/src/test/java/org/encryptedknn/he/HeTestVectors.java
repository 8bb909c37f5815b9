package org.encryptedknn.he;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Residual-shaped random vectors: length 288, Gaussian direction, norm ≈ 0.5 (±20 %). */
final class HeTestVectors {

    private HeTestVectors() {}

    static float[] residual(Random rnd, int dim, double norm) {
        double[] g = new double[dim];
        double s = 0;
        for (int i = 0; i < dim; i++) {
            g[i] = rnd.nextGaussian();
            s += g[i] * g[i];
        }
        double f = norm / Math.sqrt(s);
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = (float) (g[i] * f);
        }
        return v;
    }

    static float[] residual(Random rnd, int dim) {
        return residual(rnd, dim, 0.5 * (0.8 + 0.4 * rnd.nextDouble()));
    }

    static List<float[]> residuals(Random rnd, int n, int dim) {
        List<float[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(residual(rnd, dim));
        }
        return out;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}
