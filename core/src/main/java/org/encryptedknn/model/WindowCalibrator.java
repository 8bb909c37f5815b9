package org.encryptedknn.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Measures the candidate window a model needs ({@link WindowCalibration}) on its own training sample, by simulating
 * the encrypted search path without any key:
 * <ol>
 *   <li>out of sample ({@link #calibrate}): a basis fitted on one half of the sample, the measurement on the other
 *       half, of which up to {@value #MAX_QUERIES} vectors (a tenth) are held-out queries and the rest the
 *       documents;</li>
 *   <li>SAP noise as the model adds it (docs/design.md §2): each document prefix gets a point uniform in the ball of
 *       radius 3β/8, each query prefix one of radius β/8 (β absolute; the secret scale s and rotation R multiply
 *       every distance alike, so they change no order and are left out); for the augmented prefix layout the
 *       document prefixes are [u; √(B² − ‖u‖²)] and the query prefixes [u_q; a] before the noise
 *       ({@link PrefixLayout#AUGMENTED}, {@link PrefixLayout#queryCoordinate});</li>
 *   <li>stage 1 is exact nearest neighbours of the noisy query prefix among the noisy document prefixes by L2 (as the
 *       HNSW graph on the stored prefixes approximates); the rerank is exact, so a true top-10 neighbour is found
 *       iff its stage-1 rank is within the window. The rank of every true neighbour gives recall@10 for every
 *       window at once; the window is the smallest reaching the target;</li>
 *   <li>the same on nested halves of the documents (N/2, N/4, N/8, each of at least
 *       {@value #MIN_GROWTH_REFERENCE}) gives the growth exponent of the window with N, by least squares in log-log
 *       space, never below {@value #MIN_GROWTH}.</li>
 * </ol>
 * Deterministic for a sample (fixed seed).
 */
final class WindowCalibrator {

    static final int MAX_QUERIES = 500;
    /** Fewer reference documents than this and no calibration is stored (the model uses the fallback window). */
    static final int MIN_REFERENCE = 100;
    /**
     * Nested subsets for the growth exponent: N, N/2, … (at most {@value #GROWTH_HALVINGS} halvings) while at least
     * {@value #MIN_GROWTH_REFERENCE} documents; below that the window sits near its floor and flattens the slope.
     */
    static final int GROWTH_HALVINGS = 3;

    static final int MIN_GROWTH_REFERENCE = 1000;
    /**
     * The growth exponent is never taken below this: measured on the real MiniLM corpus, the window grew as N^0.36
     * from 1k to 5.5k documents (docs/performance.md); 0.5 errs on the side of recall.
     */
    static final double MIN_GROWTH = 0.5;

    private static final int[] CURVE_WINDOWS = {10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000};
    private static final int K = WindowCalibration.RECALL_AT;

    private WindowCalibrator() {}

    /**
     * Calibrates out of sample: the basis the measurement uses is fitted on one half of the sample, and queries and
     * documents come from the other half. Measured on the vectors the basis was fitted on, the window comes out far
     * too small (a 500-vector MiniLM sample: k = 19 in-sample against 51 on held-out vectors): the top principal
     * directions of a sample capture its own vectors better than new ones. A basis fitted on half the sample is a
     * little worse than the model's, so the window errs on the large side.
     *
     * @param x the sample vectors (normalized, for cosine)
     * @return the calibration, or null if half the sample leaves fewer than {@value #MIN_REFERENCE} documents
     */
    static WindowCalibration calibrate(
            double[][] x,
            int prefixDimension,
            double absoluteBeta,
            double prefixNorm,
            boolean cosine,
            double target,
            long seed) {
        int n = x.length;
        int half = n / 2;
        if (half - Math.max(1, Math.min(MAX_QUERIES, half / 10)) < MIN_REFERENCE) {
            return null;
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[] perm = ModelFitter.permutation(n, random);
        double[][] measured = new double[half][];
        double[][] basisPart = new double[n - half][];
        for (int i = 0; i < n; i++) {
            if (i < half) {
                measured[i] = x[perm[i]];
            } else {
                basisPart[i - half] = x[perm[i]];
            }
        }
        double[] basis = ModelFitter.basis(basisPart, x[0].length);
        double[][] prefixes = ModelFitter.prefixes(basis, measured, prefixDimension);
        Arrays.fill(basis, 0);
        return measure(measured, prefixes, absoluteBeta, prefixNorm, cosine, target, random);
    }

    /**
     * The window over {@code x} with the given prefixes (of a basis fitted on other vectors).
     *
     * @param x        the (normalized, for cosine) vectors: a tenth (at most {@value #MAX_QUERIES}) are the queries
     * @param prefixes their first d_pub coordinates in the basis
     * @param prefixNorm B of the augmented layout, 0 for the plain one
     * @param cosine   the model's space is cosine (the query's residual prior applies)
     * @return the calibration, or null if the vectors leave fewer than {@value #MIN_REFERENCE} documents
     */
    static WindowCalibration measure(
            double[][] x,
            double[][] prefixes,
            double absoluteBeta,
            double prefixNorm,
            boolean cosine,
            double target,
            SplittableRandom random) {
        WindowCalibration.checkTarget(target, "target_recall");
        int n = x.length;
        int queries = Math.max(1, Math.min(MAX_QUERIES, n / 10));
        int docs = n - queries;
        if (docs < MIN_REFERENCE) {
            return null;
        }
        int[] perm = ModelFitter.permutation(n, random);
        double[][] noisy = new double[n][];
        for (int i = 0; i < n; i++) {
            boolean query = i < queries;
            double radius = (query ? 1.0 : 3.0) * absoluteBeta / 8;
            noisy[i] = perturb(augment(prefixes[perm[i]], prefixNorm, cosine, query), radius, random);
        }

        int subsets = 1;
        while (subsets <= GROWTH_HALVINGS && (docs >> subsets) >= MIN_GROWTH_REFERENCE) {
            subsets++;
        }
        // ranks[s][q * K + j]: stage-1 rank (1-based) of query q's j-th true neighbour among the first docs >> s docs
        int[][] ranks = new int[subsets][queries * K];
        double[] score = new double[docs];
        double[] dist = new double[docs];
        int[] top = new int[K];
        for (int q = 0; q < queries; q++) {
            double[] xq = x[perm[q]];
            double[] pq = noisy[q];
            for (int i = 0; i < docs; i++) {
                score[i] = ModelFitter.dot(xq, x[perm[queries + i]]);
                dist[i] = ModelFitter.dist2(pq, noisy[queries + i]);
            }
            for (int s = 0; s < subsets; s++) {
                int size = docs >> s;
                topScores(score, size, top);
                for (int j = 0; j < K; j++) {
                    double dt = dist[top[j]];
                    int rank = 1;
                    for (int i = 0; i < size; i++) {
                        if (dist[i] < dt) {
                            rank++;
                        }
                    }
                    ranks[s][q * K + j] = rank;
                }
            }
        }

        int needed = (int) Math.ceil(target * queries * K - 1e-9); // neighbours the window must contain
        int[] sizes = new int[subsets];
        int[] windows = new int[subsets];
        for (int s = 0; s < subsets; s++) {
            int[] r = ranks[s];
            Arrays.sort(r);
            sizes[s] = docs >> s;
            windows[s] = Math.max(K, r[Math.max(0, needed - 1)]);
        }
        List<WindowCalibration.Point> curve = new ArrayList<>();
        for (int w : CURVE_WINDOWS) {
            if (w <= docs) {
                curve.add(new WindowCalibration.Point(w, recallAt(ranks[0], w)));
            }
        }
        int window = Math.min(WindowCalibration.MAX_WINDOW, windows[0]);
        return new WindowCalibration(target, window, docs, queries, growth(sizes, windows), curve);
    }

    /** Fraction of the sorted ranks ≤ window. */
    private static double recallAt(int[] sortedRanks, int window) {
        int lo = 0;
        int hi = sortedRanks.length;
        while (lo < hi) { // first index with rank > window
            int mid = (lo + hi) >>> 1;
            if (sortedRanks[mid] <= window) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return (double) lo / sortedRanks.length;
    }

    /**
     * Least-squares slope of log window against log N over the sizes whose window is above its floor of 10, clamped
     * to [{@value #MIN_GROWTH}, 1]; {@value #MIN_GROWTH} when fewer than two are.
     */
    static double growth(int[] sizes, int[] windows) {
        List<double[]> points = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            if (windows[i] > K) {
                points.add(new double[] {Math.log(sizes[i]), Math.log(windows[i])});
            }
        }
        int m = points.size();
        if (m < 2) {
            return MIN_GROWTH;
        }
        double mn = 0;
        double mk = 0;
        for (double[] p : points) {
            mn += p[0] / m;
            mk += p[1] / m;
        }
        double sxy = 0;
        double sxx = 0;
        for (double[] p : points) {
            sxy += (p[0] - mn) * (p[1] - mk);
            sxx += (p[0] - mn) * (p[0] - mn);
        }
        return Math.max(MIN_GROWTH, Math.min(1, sxy / sxx));
    }

    /** Indices of the {@code top.length} largest of {@code score[0..size)}, by insertion (top is small). */
    private static void topScores(double[] score, int size, int[] top) {
        int filled = 0;
        for (int i = 0; i < size; i++) {
            double v = score[i];
            if (filled < top.length) {
                int p = filled++;
                while (p > 0 && score[top[p - 1]] < v) {
                    top[p] = top[p - 1];
                    p--;
                }
                top[p] = i;
            } else if (v > score[top[top.length - 1]]) {
                int p = top.length - 1;
                while (p > 0 && score[top[p - 1]] < v) {
                    top[p] = top[p - 1];
                    p--;
                }
                top[p] = i;
            }
        }
    }

    /**
     * The prefix before the noise: u itself for the plain layout (B = 0); [u; √(B² − ‖u‖²)] for a document and [u; a]
     * for a query of the augmented one (a ‖u‖ beyond B, possible under the half-sample basis, pads with 0).
     */
    private static double[] augment(double[] u, double prefixNorm, boolean cosine, boolean query) {
        if (prefixNorm == 0) {
            return u;
        }
        double[] out = Arrays.copyOf(u, u.length + 1);
        double norm2 = ModelFitter.dot(u, u);
        out[u.length] = query
                ? PrefixLayout.queryCoordinate(prefixNorm, norm2, cosine)
                : Math.sqrt(Math.max(0, prefixNorm * prefixNorm - norm2));
        return out;
    }

    /** u plus a point uniform in the ball of the given radius (Gaussian direction, radius R·U^(1/d)). */
    private static double[] perturb(double[] u, double radius, SplittableRandom random) {
        int d = u.length;
        double[] out = new double[d];
        double norm = 0;
        for (int j = 0; j < d; j++) {
            out[j] = gaussian(random);
            norm += out[j] * out[j];
        }
        double r = radius * Math.pow(random.nextDouble(), 1.0 / d) / Math.sqrt(norm);
        for (int j = 0; j < d; j++) {
            out[j] = u[j] + out[j] * r;
        }
        return out;
    }

    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
}
