package org.encryptedknn.tools.bench;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.SplittableRandom;
import org.encryptedknn.corpus.SyntheticEmbeddings;
import org.junit.Test;

public class MatchedEmbeddingsTest {

    private static final int D = 32;

    /** Two tight, far-apart groups of unit vectors in a low-dimensional subspace: a corpus with a visible structure. */
    private static float[][] corpus() {
        return new SyntheticEmbeddings(D, 2, 9).sample(2000, 10);
    }

    @Test
    public void drawsAreUnitVectorsAndRepeatForASeed() {
        MatchedEmbeddings m = MatchedEmbeddings.fit(corpus(), 4, MatchedEmbeddings.POOLED_PRIOR, 1);
        float[][] a = m.sample(3000, 5);
        float[][] b = m.sample(3000, 5);
        for (int i = 0; i < a.length; i++) {
            assertArrayEquals(a[i], b[i], 0f);
            assertEquals(1.0, Math.sqrt(dot(a[i], a[i])), 1e-5);
        }
        assertTrue(dot(a[0], m.sample(1, 6)[0]) < 0.9999);
    }

    /** The variance along each coordinate and the mean follow the real vectors' (the spectrum is kept). */
    @Test
    public void drawsFollowTheMeanAndSpreadOfTheCorpus() {
        float[][] real = corpus();
        float[][] drawn = MatchedEmbeddings.fit(real, 4, MatchedEmbeddings.POOLED_PRIOR, 1)
                .sample(4000, 2);
        double[] realMean = mean(real);
        double[] drawnMean = mean(drawn);
        double[] realVar = variance(real, realMean);
        double[] drawnVar = variance(drawn, drawnMean);
        for (int j = 0; j < D; j++) {
            assertEquals("mean of coordinate " + j, realMean[j], drawnMean[j], 0.02);
            assertEquals("variance of coordinate " + j, realVar[j], drawnVar[j], 0.25 * realVar[j] + 1e-4);
        }
        // and a random draw is far from an isotropic one: its nearest real vector is close
        SplittableRandom r = new SplittableRandom(3);
        double nearest = 0;
        for (int i = 0; i < 100; i++) {
            float[] x = drawn[r.nextInt(drawn.length)];
            double best = -1;
            for (float[] y : real) {
                best = Math.max(best, dot(x, y));
            }
            nearest += best / 100;
        }
        assertTrue("mean cosine to the nearest real vector " + nearest, nearest > 0.8);
    }

    private static double[] mean(float[][] xs) {
        double[] m = new double[D];
        for (float[] x : xs) {
            for (int j = 0; j < D; j++) {
                m[j] += x[j] / (double) xs.length;
            }
        }
        return m;
    }

    private static double[] variance(float[][] xs, double[] mean) {
        double[] v = new double[D];
        for (float[] x : xs) {
            for (int j = 0; j < D; j++) {
                v[j] += (x[j] - mean[j]) * (x[j] - mean[j]) / xs.length;
            }
        }
        return v;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int j = 0; j < a.length; j++) {
            s += a[j] * b[j];
        }
        return s;
    }
}
