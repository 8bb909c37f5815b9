package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.SplittableRandom;
import org.junit.Test;

public class ProcrustesTest {

    static float[][] gaussians(int count, int n, SplittableRandom random) {
        float[][] out = new float[count][n];
        for (int i = 0; i < count; i++) {
            for (int j = 0; j < n; j++) {
                // anisotropic, like embedding residuals
                out[i][j] = (float) (Sampling.gaussian(random) / (1 + 0.1 * j));
            }
        }
        return out;
    }

    static float[][] apply(double[] q, int n, float[][] a) {
        float[][] b = new float[a.length][];
        for (int i = 0; i < a.length; i++) {
            b[i] = Procrustes.apply(q, n, a[i]);
        }
        return b;
    }

    @Test
    public void recoversAKnownOrthogonalMatrixFromNAnchors() {
        int n = 48;
        SplittableRandom random = new SplittableRandom(1);
        double[] q = Procrustes.randomOrthogonal(n, random);
        float[][] a = gaussians(n, n, random);
        double[] est = Procrustes.fit(a, apply(q, n, a));
        assertTrue("error " + Procrustes.relativeError(est, q), Procrustes.relativeError(est, q) < 1e-4);
        float[][] more = gaussians(3 * n, n, random);
        assertTrue(Procrustes.relativeError(Procrustes.fit(more, apply(q, n, more)), q) < 1e-4);
        // and maps a fresh stored vector back
        float[] x = gaussians(1, n, random)[0];
        assertArrayEquals(x, Procrustes.applyTranspose(est, n, Procrustes.apply(q, n, x)), 1e-3f);
    }

    @Test
    public void doesNotRecoverItFromFewAnchors() {
        int n = 48;
        SplittableRandom random = new SplittableRandom(2);
        double[] q = Procrustes.randomOrthogonal(n, random);
        float[][] a = gaussians(n / 6, n, random);
        double[] est = Procrustes.fit(a, apply(q, n, a));
        assertTrue("error " + Procrustes.relativeError(est, q), Procrustes.relativeError(est, q) > 0.5);
        // one anchor short is still not exact
        float[][] b = gaussians(n - 2, n, random);
        assertTrue(Procrustes.relativeError(Procrustes.fit(b, apply(q, n, b)), q) > 1e-3);
    }

    @Test
    public void randomOrthogonalIsOrthogonal() {
        int n = 20;
        double[] q = Procrustes.randomOrthogonal(n, new SplittableRandom(3));
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += q[i * n + k] * q[j * n + k];
                }
                assertEquals(i == j ? 1 : 0, s, 1e-10);
            }
        }
    }
}
