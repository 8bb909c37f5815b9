package org.encryptedknn.model;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;

/**
 * Fits a {@link EncryptionModel} on a training sample:
 * <ol>
 *   <li>normalize each vector when the space is cosine;</li>
 *   <li>uncentred second-moment matrix M = (1/n) Σ x xᵀ, symmetric eigendecomposition (EJML), eigenvectors
 *       sorted by descending eigenvalue form the rows of the orthogonal basis V (each oriented so that its
 *       largest-magnitude entry is positive). Uncentred, so ⟨Vx, Vy⟩ = ⟨x, y⟩ exactly — no mean correction;</li>
 *   <li>prefixes u = first d_pub coordinates of V x;</li>
 *   <li>beta scale: a deterministic held-out tenth of the sample (at most 500 vectors) is queried against the
 *       rest; the median over held-out queries of the distance to their 10th-nearest prefix (or the last one
 *       if fewer than 10 remain);</li>
 *   <li>k-means++ on all prefixes for C cells (fixed seed {@link #SEED}, at most {@link #MAX_ITERATIONS} Lloyd
 *       iterations, an empty cell is re-seeded with the point farthest from its centroid);</li>
 *   <li>the default candidate window k: the smallest window whose exact rerank reaches the target recall@10 on
 *       held-out sample queries, with the SAP noise of the model's β ({@link #calibrate}, {@link WindowCalibrator}).</li>
 * </ol>
 */
public final class ModelFitter {

    /** Fixed seed of k-means++ and the held-out split (fitting is reproducible without any key). */
    public static final long SEED = 0x656e632d6b6e6eL; // "enc-knn"

    public static final int MAX_ITERATIONS = 50;
    public static final int MAX_HELD_OUT = 500;
    public static final int NEIGHBOUR_RANK = 10;

    private ModelFitter() {}

    public static EncryptionModel fit(String modelId, ModelParameters params, float[][] sample) {
        return fit(modelId, params, sample, Instant.now());
    }

    public static EncryptionModel fit(String modelId, ModelParameters params, float[][] sample, Instant created) {
        return fit(modelId, params, sample, created, WindowCalibration.DEFAULT_TARGET_RECALL);
    }

    /** @param targetRecall recall@10 the model's default window is calibrated for, in (0, 1] */
    public static EncryptionModel fit(String modelId, ModelParameters params, float[][] sample, double targetRecall) {
        return fit(modelId, params, sample, Instant.now(), targetRecall);
    }

    public static EncryptionModel fit(
            String modelId, ModelParameters params, float[][] sample, Instant created, double targetRecall) {
        return fit(modelId, params, sample, created, targetRecall, PrefixLayout.AUGMENTED);
    }

    /**
     * @param layout {@link PrefixLayout#AUGMENTED} (the default) or {@link PrefixLayout#PLAIN}, the layout of the models
     *               fitted before augmentation (for comparisons and indices whose mapping has the plain width)
     */
    public static EncryptionModel fit(
            String modelId,
            ModelParameters params,
            float[][] sample,
            Instant created,
            double targetRecall,
            PrefixLayout layout) {
        Objects.requireNonNull(layout, "prefix_layout");
        WindowCalibration.checkTarget(targetRecall, "target_recall");
        EncryptionModel.checkId(modelId);
        Objects.requireNonNull(params, "parameters");
        Objects.requireNonNull(sample, "training vectors");
        int d = params.dimension();
        int n = sample.length;
        int minimum = Math.max(2, params.cells());
        if (n < minimum) {
            throw new IllegalArgumentException(
                    "training_vectors: need at least max(2, cells) = " + minimum + " vectors, got " + n);
        }
        double[][] x = rows(params, sample);
        double[] basis = basis(x, d);
        int dp = params.prefixDimension();
        double[][] prefixes = prefixes(basis, x, dp);
        double betaScale = betaScale(prefixes);
        double residualNorm = residualNorm(x, prefixes, params.space());
        double prefixNorm = layout == PrefixLayout.AUGMENTED ? prefixNorm(prefixes, params.space()) : 0;
        double[] centroids = kMeans(prefixes, params.cells(), dp);
        // the default window: the encrypted path simulated on the sample, out of sample; seeded, so a sample always
        // gives the same (null if the sample is too small to hold queries out of)
        WindowCalibration calibration = WindowCalibrator.calibrate(
                x,
                dp,
                params.beta() * betaScale,
                prefixNorm,
                params.space() == Space.COSINE,
                targetRecall,
                CALIBRATION_SEED);

        float[] basisF = new float[d * d];
        for (int i = 0; i < basisF.length; i++) {
            basisF[i] = (float) basis[i];
        }
        float[] centroidsF = new float[centroids.length];
        for (int i = 0; i < centroids.length; i++) {
            centroidsF[i] = (float) centroids[i];
        }
        Arrays.fill(basis, 0);
        return new EncryptionModel(
                        modelId,
                        params,
                        created,
                        betaScale,
                        n,
                        basisF,
                        centroidsF,
                        EncryptionModel.newKeySalt(),
                        residualNorm,
                        EncryptionModel.DEFAULT_CELL_JITTER,
                        0,
                        prefixNorm)
                .withCalibration(calibration);
    }

    private static final long CALIBRATION_SEED = SEED ^ 0xCA1BL;

    /** The sample as doubles, checked (dimension, finite, non-zero for cosine) and normalized for cosine. */
    private static double[][] rows(ModelParameters params, float[][] sample) {
        int d = params.dimension();
        int n = sample.length;
        double[][] x = new double[n][];
        for (int i = 0; i < n; i++) {
            float[] v = sample[i];
            if (v == null || v.length != d) {
                throw new IllegalArgumentException("training_vectors[" + i + "] must have dimension " + d + ", got "
                        + (v == null ? "null" : v.length));
            }
            double[] row = new double[d];
            double norm2 = 0;
            for (int j = 0; j < d; j++) {
                if (!Float.isFinite(v[j])) {
                    throw new IllegalArgumentException("training_vectors[" + i + "] has a non-finite value");
                }
                row[j] = v[j];
                norm2 += row[j] * row[j];
            }
            if (params.space() == Space.COSINE) {
                if (norm2 == 0) {
                    throw new IllegalArgumentException(
                            "training_vectors[" + i + "] is the zero vector, which has no cosine");
                }
                double inv = 1.0 / Math.sqrt(norm2);
                for (int j = 0; j < d; j++) {
                    row[j] *= inv;
                }
            }
            x[i] = row;
        }

        return x;
    }

    /** u = the first d_pub coordinates of V x, per row. */
    static double[][] prefixes(double[] basis, double[][] x, int dp) {
        int n = x.length;
        double[][] prefixes = new double[n][dp];
        for (int i = 0; i < n; i++) {
            double[] xi = x[i];
            int d = xi.length;
            double[] u = prefixes[i];
            for (int k = 0; k < dp; k++) {
                double s = 0;
                int base = k * d;
                for (int j = 0; j < d; j++) {
                    s += basis[base + j] * xi[j];
                }
                u[k] = s;
            }
        }
        return prefixes;
    }

    /**
     * Re-calibrates a fitted model's default window on other vectors (a larger sample of a grown index, say) with its
     * basis and β: what {@link #fit} measures, for a model that exists. The vectors should not be the ones the model
     * was fitted on (the basis fits those better than new ones, and the window would come out too small). The
     * caller seals the result into the model ({@link EncryptionModel#withCalibration}); null if the vectors leave
     * too few documents.
     */
    public static WindowCalibration calibrate(EncryptionModel model, float[][] vectors, double targetRecall) {
        WindowCalibration.checkTarget(targetRecall, "target_recall");
        double[][] x = rows(model.parameters(), vectors);
        float[] basisF = model.basisRef();
        double[] basis = new double[basisF.length];
        for (int i = 0; i < basis.length; i++) {
            basis[i] = basisF[i];
        }
        double[][] prefixes = prefixes(basis, x, model.parameters().prefixDimension());
        Arrays.fill(basis, 0);
        return WindowCalibrator.measure(
                x,
                prefixes,
                model.absoluteBeta(),
                model.prefixNorm(),
                model.parameters().space() == Space.COSINE,
                targetRecall,
                new SplittableRandom(CALIBRATION_SEED));
    }

    /**
     * Inner product: the largest residual norm of a training vector is multiplied by this to give the model's bound T,
     * so that vectors somewhat longer than those seen at fit time still index; a longer one is refused (400).
     */
    public static final double RESIDUAL_NORM_MARGIN = 1.5;

    /**
     * T, the norm of every stored residual: 1 for cosine (‖r‖ ≤ ‖x‖ = 1); for inner product the largest training
     * ‖r‖ = √(‖x‖² − ‖u‖²) (V is orthogonal) times {@link #RESIDUAL_NORM_MARGIN}, or 1 if every training residual is 0.
     */
    static double residualNorm(double[][] x, double[][] prefixes, Space space) {
        return normBound(space, x.length, i -> dot(x[i], x[i]) - dot(prefixes[i], prefixes[i]));
    }

    /**
     * B, the norm of every augmented prefix [u; t′] ({@link PrefixLayout#AUGMENTED}): 1 for cosine (‖u‖ ≤ ‖x‖ = 1); for
     * inner product the largest training ‖u‖ times {@link #RESIDUAL_NORM_MARGIN}, the rule of {@link #residualNorm}, or
     * 1 if every training prefix is 0.
     */
    static double prefixNorm(double[][] prefixes, Space space) {
        return normBound(space, prefixes.length, i -> dot(prefixes[i], prefixes[i]));
    }

    /** The rule of T and B: 1 for cosine; else the largest of the training norms × the margin, or 1 if all are 0. */
    private static double normBound(Space space, int count, IntToDoubleFunction squaredNorm) {
        if (space == Space.COSINE) {
            return 1;
        }
        double max = 0;
        for (int i = 0; i < count; i++) {
            max = Math.max(max, Math.sqrt(Math.max(0, squaredNorm.applyAsDouble(i))));
        }
        return max > 0 ? max * RESIDUAL_NORM_MARGIN : 1;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Rows = eigenvectors of (1/n) Σ x xᵀ by descending eigenvalue, unit length, largest-magnitude entry positive. */
    static double[] basis(double[][] x, int d) {
        SecondMoment moment = new SecondMoment(d);
        for (double[] xi : x) {
            moment.add(xi);
        }
        double[] basis = moment.eigen().vectors();
        for (int k = 0; k < d; k++) {
            int base = k * d;
            double norm = 0;
            int argmax = 0;
            for (int j = 0; j < d; j++) {
                double e = basis[base + j];
                norm += e * e;
                if (Math.abs(e) > Math.abs(basis[base + argmax])) {
                    argmax = j;
                }
            }
            double f = (basis[base + argmax] < 0 ? -1 : 1) / Math.sqrt(norm);
            for (int j = 0; j < d; j++) {
                basis[base + j] *= f;
            }
        }
        return basis;
    }

    /** Median over a held-out tenth of the distance to the 10th-nearest prefix among the rest. */
    static double betaScale(double[][] prefixes) {
        int n = prefixes.length;
        int[] perm = permutation(n, new SplittableRandom(SEED ^ 0xB37AL));
        int held = Math.max(1, Math.min(MAX_HELD_OUT, n / 10));
        int rest = n - held;
        int rank = Math.min(NEIGHBOUR_RANK, rest);
        double[] kth = new double[held];
        double[] dist = new double[rest];
        for (int q = 0; q < held; q++) {
            double[] uq = prefixes[perm[q]];
            for (int i = 0; i < rest; i++) {
                dist[i] = dist2(uq, prefixes[perm[held + i]]);
            }
            Arrays.sort(dist);
            kth[q] = Math.sqrt(dist[rank - 1]);
        }
        Arrays.sort(kth);
        return held % 2 == 1 ? kth[held / 2] : 0.5 * (kth[held / 2 - 1] + kth[held / 2]);
    }

    /** k-means++ then Lloyd; returns C×dp centroids row-major. */
    static double[] kMeans(double[][] points, int k, int dp) {
        int n = points.length;
        SplittableRandom random = new SplittableRandom(SEED);
        double[][] centres = new double[k][];
        double[] best = new double[n];
        Arrays.fill(best, Double.POSITIVE_INFINITY);
        centres[0] = points[random.nextInt(n)].clone();
        for (int c = 1; c < k; c++) {
            double total = 0;
            for (int i = 0; i < n; i++) {
                best[i] = Math.min(best[i], dist2(points[i], centres[c - 1]));
                total += best[i];
            }
            int pick;
            if (total <= 0) {
                pick = random.nextInt(n);
            } else {
                double target = random.nextDouble() * total;
                pick = n - 1;
                for (int i = 0; i < n; i++) {
                    target -= best[i];
                    if (target < 0) {
                        pick = i;
                        break;
                    }
                }
            }
            centres[c] = points[pick].clone();
        }
        int[] assign = new int[n];
        Arrays.fill(assign, -1);
        for (int iter = 0; iter < MAX_ITERATIONS; iter++) {
            boolean changed = false;
            for (int i = 0; i < n; i++) {
                int a = nearest(points[i], centres);
                if (a != assign[i]) {
                    assign[i] = a;
                    changed = true;
                }
            }
            if (!changed) {
                break;
            }
            double[][] sums = new double[k][dp];
            int[] counts = new int[k];
            for (int i = 0; i < n; i++) {
                counts[assign[i]]++;
                double[] s = sums[assign[i]];
                double[] p = points[i];
                for (int j = 0; j < dp; j++) {
                    s[j] += p[j];
                }
            }
            for (int c = 0; c < k; c++) {
                if (counts[c] > 0) {
                    for (int j = 0; j < dp; j++) {
                        centres[c][j] = sums[c][j] / counts[c];
                    }
                } else {
                    // Re-seed an empty cell with the point farthest from its own centroid.
                    int far = 0;
                    double farD = -1;
                    for (int i = 0; i < n; i++) {
                        double dd = dist2(points[i], centres[assign[i]]);
                        if (dd > farD) {
                            farD = dd;
                            far = i;
                        }
                    }
                    centres[c] = points[far].clone();
                    assign[far] = c;
                }
            }
        }
        double[] out = new double[k * dp];
        for (int c = 0; c < k; c++) {
            System.arraycopy(centres[c], 0, out, c * dp, dp);
        }
        return out;
    }

    private static int nearest(double[] p, double[][] centres) {
        int best = 0;
        double bestD = Double.POSITIVE_INFINITY;
        for (int c = 0; c < centres.length; c++) {
            double dd = dist2(p, centres[c]);
            if (dd < bestD) {
                bestD = dd;
                best = c;
            }
        }
        return best;
    }

    static double dist2(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double t = a[i] - b[i];
            s += t * t;
        }
        return s;
    }

    /** A seeded random permutation of 0..n−1 (Fisher–Yates); the audit samples with it too. */
    public static int[] permutation(int n, SplittableRandom random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
