package org.encryptedknn.model;

import java.util.List;

/**
 * The model's default candidate window k, measured at fit time ({@link WindowCalibrator}): the smallest window such
 * that re-ranking exactly the top-k documents by encrypted prefix (SAP noise at the model's β) finds {@code target}
 * of the true top {@value #RECALL_AT} of held-out sample queries, among the {@code referenceSize} other sample
 * vectors. Public metadata (GET model; no secret): only recall figures, sizes and windows.
 *
 * <p>A larger index needs a larger window: the rank, in prefix order, of a true neighbour grows with the number of
 * documents. The fitter measures the needed window on nested subsets of the reference set and fits
 * k(N) = k · (N / referenceSize)^growth ({@link #windowFor}); docs/performance.md shows it against measurements.
 *
 * @param target        recall@10 the window is chosen for (default {@value #DEFAULT_TARGET_RECALL})
 * @param window        smallest k reaching {@code target} over {@code referenceSize} documents
 * @param referenceSize documents the held-out queries were searched among
 * @param queries       held-out queries
 * @param growth        exponent of the window's growth with the index size, in [0, 1]
 * @param curve         recall@10 at a few windows over the reference set (for the model's metadata)
 */
public record WindowCalibration(
        double target, int window, int referenceSize, int queries, double growth, List<Point> curve) {

    public static final double DEFAULT_TARGET_RECALL = 0.95;
    /** The window of a model fitted before calibration existed (and of a sample too small to calibrate on). */
    public static final int FALLBACK_WINDOW = 100;
    /** The largest window a query may ask for (the {@code encrypted_knn} query's bound). */
    public static final int MAX_WINDOW = 10_000;

    public static final int RECALL_AT = 10;

    /** Recall@10 with a window of {@code window} documents. */
    public record Point(int window, double recall) {}

    public WindowCalibration {
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException("calibration target recall must be in (0, 1], got " + target);
        }
        if (window < RECALL_AT || window > MAX_WINDOW) {
            throw new IllegalArgumentException(
                    "calibration window must be in [" + RECALL_AT + ", " + MAX_WINDOW + "], got " + window);
        }
        if (referenceSize < window || queries < 1) {
            throw new IllegalArgumentException("calibration reference_size must be >= window (" + window
                    + ") and queries >= 1, got " + referenceSize + " and " + queries);
        }
        if (!(growth >= 0 && growth <= 1)) {
            throw new IllegalArgumentException("calibration growth must be in [0, 1], got " + growth);
        }
        curve = List.copyOf(curve);
    }

    /** The window for an index of {@code documents} documents (0 or unknown: the reference size). */
    public int windowFor(long documents) {
        if (documents <= referenceSize) {
            return window;
        }
        double k = Math.ceil(window * Math.pow((double) documents / referenceSize, growth));
        return (int) Math.min(MAX_WINDOW, k);
    }

    /** The default window of a model: its calibration's for {@code documents}, else {@link #FALLBACK_WINDOW}. */
    public static int defaultWindow(WindowCalibration calibration, long documents) {
        return calibration == null ? FALLBACK_WINDOW : calibration.windowFor(documents);
    }

    /** Validates a target recall given at fit time, naming the caller's field. */
    public static double checkTarget(double target, String field) {
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException(field + " must be in (0, 1], got " + target);
        }
        return target;
    }
}
