package org.encryptedknn.tools.bench;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * Synthetic embeddings drawn to match a real corpus, for benchmarks larger than the corpus: a Gaussian mixture fitted to
 * the real vectors. The clusters are found by spherical k-means; each cluster keeps its weight, its mean and its own
 * covariance, shrunk toward the pooled within-cluster covariance (a cluster of ~100 vectors in 384 dimensions has a
 * rank-deficient scatter; the pooled one fills the directions it cannot see, so the draws are not confined to a
 * 100-dimensional slice). A draw picks a cluster by weight, adds L_c g to its mean (L_c the Cholesky factor of the
 * cluster's covariance) and is normalized when the real vectors are (sentence encoders such as MiniLM output unit
 * vectors). So both the spectrum of each cluster and the cluster structure follow the real corpus, which is what sets
 * the neighbour distances that HNSW recall depends on. Deterministic for a seed, whatever the number of threads.
 */
public final class MatchedEmbeddings {

    /** Default weight of the pooled covariance in a cluster's estimate, counted in vectors. */
    public static final double POOLED_PRIOR = 5;

    private static final int KMEANS_ITERATIONS = 15;
    private static final int BLOCK = 1024;

    private final int dimension;
    private final double[] cumulativeWeights;
    private final float[][] means;
    private final float[][][] factors; // lower-triangular Cholesky factor of each cluster's covariance, row by row
    private final boolean normalize;

    private MatchedEmbeddings(
            int dimension, double[] cumulativeWeights, float[][] means, float[][][] factors, boolean normalize) {
        this.dimension = dimension;
        this.cumulativeWeights = cumulativeWeights;
        this.means = means;
        this.factors = factors;
        this.normalize = normalize;
    }

    /**
     * Fits a mixture of {@code clusters} Gaussians to {@code real}; each cluster's covariance has {@code pooledPrior}
     * vectors' worth of the pooled within-cluster covariance.
     */
    public static MatchedEmbeddings fit(float[][] real, int clusters, double pooledPrior, long seed) {
        int n = real.length;
        int d = real[0].length;
        int[] assignment = sphericalKMeans(real, clusters, seed);
        int[] counts = new int[clusters];
        double[][] mean = new double[clusters][d];
        for (int i = 0; i < n; i++) {
            counts[assignment[i]]++;
            for (int j = 0; j < d; j++) {
                mean[assignment[i]][j] += real[i][j];
            }
        }
        for (int c = 0; c < clusters; c++) {
            for (int j = 0; j < d; j++) {
                mean[c][j] /= Math.max(1, counts[c]);
            }
        }
        // Scatter of every cluster around its mean (upper triangle), and their sum: the pooled within-cluster scatter.
        double[][] scatter = new double[clusters][d * d];
        double[] pooled = new double[d * d];
        double[] centred = new double[d];
        for (int i = 0; i < n; i++) {
            int c = assignment[i];
            for (int j = 0; j < d; j++) {
                centred[j] = real[i][j] - mean[c][j];
            }
            addOuterUpper(scatter[c], centred);
        }
        for (double[] s : scatter) {
            for (int e = 0; e < pooled.length; e++) {
                pooled[e] += s[e];
            }
        }
        double pooledDenominator = Math.max(1, n - clusters);
        double[] cumulative = new double[clusters];
        float[][] means = new float[clusters][d];
        float[][][] factors = new float[clusters][][];
        double total = 0;
        for (int c = 0; c < clusters; c++) {
            total += counts[c] / (double) n;
            cumulative[c] = total;
            for (int j = 0; j < d; j++) {
                means[c][j] = (float) mean[c][j];
            }
            // Σ_c = (S_c + m Σ_pooled) / (n_c - 1 + m): the cluster's own scatter with m vectors' worth of the pooled
            // one
            DMatrixRMaj cov = new DMatrixRMaj(d, d);
            double denominator = Math.max(0, counts[c] - 1) + pooledPrior;
            for (int r = 0; r < d; r++) {
                for (int k = r; k < d; k++) {
                    double v =
                            (scatter[c][r * d + k] + pooledPrior * pooled[r * d + k] / pooledDenominator) / denominator;
                    cov.unsafe_set(r, k, v);
                    cov.unsafe_set(k, r, v);
                }
            }
            factors[c] = choleskyRows(cov);
        }
        cumulative[clusters - 1] = 1.0;
        return new MatchedEmbeddings(d, cumulative, means, factors, unitNorm(real));
    }

    public int dimension() {
        return dimension;
    }

    /** {@code n} draws; the same {@code seed} gives the same vectors. */
    public float[][] sample(int n, long seed) {
        float[][] out = new float[n][];
        IntStream.range(0, (n + BLOCK - 1) / BLOCK).parallel().forEach(block -> {
            SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + block);
            double[] g = new double[dimension];
            for (int i = block * BLOCK; i < Math.min(n, (block + 1) * BLOCK); i++) {
                out[i] = draw(random, g);
            }
        });
        return out;
    }

    private float[] draw(SplittableRandom random, double[] g) {
        int c = Arrays.binarySearch(cumulativeWeights, random.nextDouble());
        c = Math.min(cumulativeWeights.length - 1, c < 0 ? -c - 1 : c);
        for (int j = 0; j < dimension; j++) {
            g[j] = gaussian(random);
        }
        float[][] l = factors[c];
        float[] x = means[c].clone();
        double norm = 0;
        for (int r = 0; r < dimension; r++) {
            float[] row = l[r];
            double v = 0;
            for (int k = 0; k <= r; k++) {
                v += row[k] * g[k];
            }
            x[r] += (float) v;
            norm += (double) x[r] * x[r];
        }
        if (normalize) {
            float inverse = (float) (1 / Math.sqrt(norm));
            for (int j = 0; j < dimension; j++) {
                x[j] *= inverse;
            }
        }
        return x;
    }

    /** Cluster of each vector: k-means on the unit sphere (assignment by largest dot product), k-means++ seeding. */
    static int[] sphericalKMeans(float[][] xs, int k, long seed) {
        int n = xs.length;
        int d = xs[0].length;
        float[][] unit = new float[n][];
        for (int i = 0; i < n; i++) {
            unit[i] = unit(xs[i]);
        }
        SplittableRandom random = new SplittableRandom(seed);
        float[][] centres = new float[k][];
        centres[0] = unit[random.nextInt(n)];
        double[] distance = new double[n];
        Arrays.fill(distance, Double.MAX_VALUE);
        for (int c = 1; c < k; c++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                distance[i] = Math.min(distance[i], 1 - dot(unit[i], centres[c - 1]));
                sum += Math.max(0, distance[i]);
            }
            double pick = random.nextDouble() * sum;
            int chosen = n - 1;
            for (int i = 0; i < n; i++) {
                pick -= Math.max(0, distance[i]);
                if (pick <= 0) {
                    chosen = i;
                    break;
                }
            }
            centres[c] = unit[chosen];
        }
        int[] assignment = new int[n];
        for (int iteration = 0; iteration < KMEANS_ITERATIONS; iteration++) {
            float[][] current = centres;
            IntStream.range(0, n).parallel().forEach(i -> assignment[i] = closest(unit[i], current));
            double[][] sums = new double[k][d];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < d; j++) {
                    sums[assignment[i]][j] += unit[i][j];
                }
            }
            float[][] next = new float[k][];
            for (int c = 0; c < k; c++) {
                float[] s = new float[d];
                for (int j = 0; j < d; j++) {
                    s[j] = (float) sums[c][j];
                }
                next[c] = dot(s, s) > 0 ? unit(s) : current[c]; // an emptied cluster keeps its centre
            }
            centres = next;
        }
        return assignment;
    }

    private static int closest(float[] x, float[][] centres) {
        int best = 0;
        double bestDot = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < centres.length; c++) {
            double s = dot(x, centres[c]);
            if (s > bestDot) {
                bestDot = s;
                best = c;
            }
        }
        return best;
    }

    private static void addOuterUpper(double[] a, double[] v) {
        int d = v.length;
        for (int r = 0; r < d; r++) {
            double vr = v[r];
            int base = r * d;
            for (int k = r; k < d; k++) {
                a[base + k] += vr * v[k];
            }
        }
    }

    private static float[][] choleskyRows(DMatrixRMaj cov) {
        int d = cov.numRows;
        CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(d, true);
        if (!chol.decompose(cov)) {
            throw new IllegalStateException("a cluster covariance is not positive definite");
        }
        DMatrixRMaj l = chol.getT(null);
        float[][] rows = new float[d][];
        for (int r = 0; r < d; r++) {
            rows[r] = new float[r + 1];
            for (int k = 0; k <= r; k++) {
                rows[r][k] = (float) l.get(r, k);
            }
        }
        return rows;
    }

    private static boolean unitNorm(float[][] xs) {
        for (float[] x : xs) {
            if (Math.abs(Math.sqrt(dot(x, x)) - 1) > 1e-3) {
                return false;
            }
        }
        return true;
    }

    private static float[] unit(float[] x) {
        float inverse = (float) (1 / Math.sqrt(dot(x, x)));
        float[] u = new float[x.length];
        for (int j = 0; j < x.length; j++) {
            u[j] = x[j] * inverse;
        }
        return u;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int j = 0; j < a.length; j++) {
            s += a[j] * b[j];
        }
        return s;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
