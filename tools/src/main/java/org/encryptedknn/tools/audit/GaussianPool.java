package org.encryptedknn.tools.audit;

import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Synthetic documents drawn from a Gaussian fitted to real embeddings (mean + full covariance), for the anchor
 * experiments that need more documents than the real corpus has (docs/design.md §6). Sampled as μ + L g with
 * L = E √Λ from the symmetric eigendecomposition of the covariance (negative eigenvalues of round-off clamped).
 */
public final class GaussianPool {

    private final int d;
    private final float[] mean;
    private final float[][] factorT; // Lᵀ: row j = √λ_j e_j, so x = μ + Σ_j g_j row_j

    private GaussianPool(int d, float[] mean, float[][] factorT) {
        this.d = d;
        this.mean = mean;
        this.factorT = factorT;
    }

    /** Fits mean and covariance of {@code vectors} (used as given; the transform normalizes later under cosine). */
    public static GaussianPool fit(float[][] vectors) {
        int n = vectors.length;
        int d = vectors[0].length;
        double[] mu = new double[d];
        for (float[] x : vectors) {
            for (int j = 0; j < d; j++) {
                mu[j] += x[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mu[j] /= n;
        }
        DMatrixRMaj cov = new DMatrixRMaj(d, d);
        double[] a = cov.data;
        double[] c = new double[d];
        for (float[] x : vectors) {
            for (int j = 0; j < d; j++) {
                c[j] = x[j] - mu[j];
            }
            for (int r = 0; r < d; r++) {
                double cr = c[r];
                int base = r * d;
                for (int k = r; k < d; k++) {
                    a[base + k] += cr * c[k];
                }
            }
        }
        for (int r = 0; r < d; r++) {
            for (int k = r; k < d; k++) {
                double v = a[r * d + k] / Math.max(1, n - 1);
                a[r * d + k] = v;
                a[k * d + r] = v;
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(cov)) {
            throw new IllegalStateException("covariance eigendecomposition failed");
        }
        float[][] lt = new float[d][d];
        for (int j = 0; j < d; j++) {
            double lambda = Math.max(0, eig.getEigenvalue(j).getReal());
            DMatrixRMaj v = eig.getEigenVector(j);
            double sq = Math.sqrt(lambda);
            for (int k = 0; k < d; k++) {
                lt[j][k] = (float) (sq * v.get(k, 0));
            }
        }
        float[] meanF = new float[d];
        for (int j = 0; j < d; j++) {
            meanF[j] = (float) mu[j];
        }
        return new GaussianPool(d, meanF, lt);
    }

    public int dimension() {
        return d;
    }

    /** {@code count} draws, seeded. */
    public float[][] sample(int count, long seed, ProgressLog log) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][] out = new float[count][];
        double[] g = new double[d];
        for (int i = 0; i < count; i++) {
            for (int j = 0; j < d; j++) {
                g[j] = Sampling.gaussian(random);
            }
            float[] x = mean.clone();
            for (int j = 0; j < d; j++) {
                float gj = (float) g[j];
                float[] row = factorT[j];
                for (int k = 0; k < d; k++) {
                    x[k] += gj * row[k];
                }
            }
            out[i] = x;
            if (log != null && (i + 1) % 20000 == 0) {
                log.info("gaussian pool: %d/%d drawn", i + 1, count);
            }
        }
        return out;
    }
}
