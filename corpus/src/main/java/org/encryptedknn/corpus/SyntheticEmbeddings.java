package org.encryptedknn.corpus;

import java.util.SplittableRandom;

/**
 * Synthetic stand-ins for sentence embeddings, for tests and benchmarks when no real corpus is at hand:
 * a common mean direction + one of {@code topics} topic centres + per-vector noise, both drawn with a
 * decaying (power-law) spectrum, then normalized. Deterministic for a seed.
 */
public final class SyntheticEmbeddings {

    private final int dimension;
    private final float[] mean;
    private final float[][] topics;
    private final double[] sigma;

    public SyntheticEmbeddings(int dimension, int topics, long seed) {
        this.dimension = dimension;
        SplittableRandom r = new SplittableRandom(seed);
        sigma = new double[dimension];
        for (int j = 0; j < dimension; j++) {
            sigma[j] = Math.pow(1.0 + j, -0.5);
        }
        mean = new float[dimension];
        double norm = 0;
        for (int j = 0; j < dimension; j++) {
            mean[j] = (float) gaussian(r);
            norm += mean[j] * mean[j];
        }
        float scale = (float) (2.0 / Math.sqrt(norm)); // the common direction
        for (int j = 0; j < dimension; j++) {
            mean[j] *= scale;
        }
        this.topics = new float[topics][dimension];
        for (float[] t : this.topics) {
            for (int j = 0; j < dimension; j++) {
                t[j] = (float) (gaussian(r) * sigma[j] * 0.8);
            }
        }
    }

    /** {@code n} normalized vectors. */
    public float[][] sample(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            float[] t = topics[r.nextInt(topics.length)];
            float[] x = new float[dimension];
            double norm = 0;
            for (int j = 0; j < dimension; j++) {
                x[j] = (float) (mean[j] + t[j] + gaussian(r) * sigma[j] * 0.6);
                norm += x[j] * x[j];
            }
            float inv = (float) (1.0 / Math.sqrt(norm));
            for (int j = 0; j < dimension; j++) {
                x[j] *= inv;
            }
            out[i] = x;
        }
        return out;
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = r.nextDouble();
        double u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
