package org.encryptedknn.model;

/**
 * The public parameters of a model (one per vector field).
 *
 * @param dimension       d, the embedding dimension (≥ 2)
 * @param space           cosine (vectors normalized before anything else) or inner product
 * @param prefixDimension d_pub, length of the public (DCPE-encrypted) prefix, 1 ≤ d_pub &lt; d; default d/4
 * @param cells           C, number of k-means cells of the prefix, each with its own residual key (1..65536); default 16
 * @param beta            β in [0, {@link #MAX_BETA}], <b>relative to the model's beta scale</b> (the median query-to-10th-neighbour prefix
 *                        distance measured at fit time, {@link EncryptionModel#betaScale()}); the absolute
 *                        SAP approximation factor is {@code beta × betaScale}. Default 0.5. 0 disables the noise.
 * @param epoch           key epoch (≥ 1); {@code _rotate} increments it
 * @param firstEpoch      oldest live epoch, 1 ≤ firstEpoch ≤ epoch; {@code _retire} raises it, and epochs below it are
 *                        never used again (their records can no longer be read, re-keyed or searched)
 */
public record ModelParameters(
        int dimension, Space space, int prefixDimension, int cells, double beta, int epoch, int firstEpoch) {

    /** Relative β; docs/security.md "Defaults from measurement" (the β sweep: why 0.5 and not 0.75). */
    public static final double DEFAULT_BETA = 0.5;
    /** Beyond a few times the 10th-neighbour distance the noise drowns the prefix; 10 leaves room to experiment. */
    public static final double MAX_BETA = 10;

    /**
     * C; docs/security.md "Defaults from measurement": no cell key is recoverable by a targeted attacker up to
     * N ≈ C·(d − d_pub) documents (≈ 18k at d = 384), and a re-key leaves fewer same-cell pairs together.
     */
    public static final int DEFAULT_CELLS = 64;

    public static final int MAX_CELLS = 65536;
    public static final int MAX_DIMENSION = 16384;

    public ModelParameters {
        if (dimension < 2 || dimension > MAX_DIMENSION) {
            throw new IllegalArgumentException("dimension must be in [2, " + MAX_DIMENSION + "], got " + dimension);
        }
        if (space == null) {
            throw new IllegalArgumentException("space must be set (cosine or inner_product)");
        }
        if (prefixDimension < 1 || prefixDimension >= dimension) {
            throw new IllegalArgumentException("prefix_dimension must be in [1, dimension - 1] = [1, " + (dimension - 1)
                    + "], got " + prefixDimension);
        }
        if (cells < 1 || cells > MAX_CELLS) {
            throw new IllegalArgumentException("cells must be in [1, " + MAX_CELLS + "], got " + cells);
        }
        if (!(beta >= 0 && beta <= MAX_BETA)) {
            throw new IllegalArgumentException(
                    "beta must be in [0, " + MAX_BETA + "] (relative to the model's beta scale), got " + beta);
        }
        if (epoch < 1) {
            throw new IllegalArgumentException("epoch must be >= 1, got " + epoch);
        }
        if (firstEpoch < 1 || firstEpoch > epoch) {
            throw new IllegalArgumentException(
                    "first_epoch must be in [1, epoch] = [1, " + epoch + "], got " + firstEpoch);
        }
    }

    /** No epoch retired yet (first epoch 1). */
    public ModelParameters(int dimension, Space space, int prefixDimension, int cells, double beta, int epoch) {
        this(dimension, space, prefixDimension, cells, beta, epoch, 1);
    }

    /** d_pub = d/4 (at least 1), C = {@link #DEFAULT_CELLS}, β = {@link #DEFAULT_BETA} (relative), epoch 1. */
    public static ModelParameters defaults(int dimension, Space space) {
        return new ModelParameters(dimension, space, defaultPrefixDimension(dimension), DEFAULT_CELLS, DEFAULT_BETA, 1);
    }

    public static int defaultPrefixDimension(int dimension) {
        return Math.max(1, dimension / 4);
    }

    /**
     * Refuses the two settings that switch a protection off unless the caller passed an explicit {@code insecure}
     * flag: β = 0 (no SAP noise: the stored prefix is a secret scaled rotation of the plaintext prefix, so distances
     * and any known plaintext pin it down) and C = 1 (one residual key H for every record: a single known pair of
     * plaintext and record starts recovering it for all). Model creation calls this; stored models are not re-checked.
     *
     * @param name maps a parameter name ("beta", "cells", "insecure") to how the caller's interface spells it
     */
    public void requireSecure(boolean insecure, java.util.function.UnaryOperator<String> name) {
        if (insecure) {
            return;
        }
        if (beta == 0) {
            throw new IllegalArgumentException(name.apply("beta") + " = 0 disables the prefix noise (the prefix is then"
                    + " a scaled rotation of the plaintext); set " + name.apply("insecure") + " to accept that");
        }
        if (cells == 1) {
            throw new IllegalArgumentException(name.apply("cells") + " = 1 puts every record under one residual key;"
                    + " set " + name.apply("insecure") + " to accept that");
        }
    }

    /** d − d_pub. */
    public int residualDimension() {
        return dimension - prefixDimension;
    }

    public ModelParameters withEpoch(int newEpoch) {
        return new ModelParameters(dimension, space, prefixDimension, cells, beta, newEpoch, firstEpoch);
    }

    public ModelParameters withFirstEpoch(int newFirstEpoch) {
        return new ModelParameters(dimension, space, prefixDimension, cells, beta, epoch, newFirstEpoch);
    }

    /** True if {@code e} is a live epoch: first epoch ≤ e ≤ current epoch. */
    public boolean isLiveEpoch(int e) {
        return e >= firstEpoch && e <= epoch;
    }

    public ModelParameters withCells(int newCells) {
        return new ModelParameters(dimension, space, prefixDimension, newCells, beta, epoch, firstEpoch);
    }

    public ModelParameters withBeta(double newBeta) {
        return new ModelParameters(dimension, space, prefixDimension, cells, newBeta, epoch, firstEpoch);
    }

    public ModelParameters withPrefixDimension(int newPrefixDimension) {
        return new ModelParameters(dimension, space, newPrefixDimension, cells, beta, epoch, firstEpoch);
    }
}
