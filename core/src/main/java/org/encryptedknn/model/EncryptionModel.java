package org.encryptedknn.model;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A fitted model: public metadata plus the fitted secrets (the orthogonal basis V and the cell
 * centroids of the prefix). Keys (SAP, R_pub, H_c) are not stored: they are derived from the
 * master key, the model id and the epoch. Immutable; {@link #toString()} prints no secret.
 */
public final class EncryptionModel {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final String id;
    private final ModelParameters parameters;
    private final Instant created;
    private final double betaScale;
    private final int sampleCount;
    private final float[] basis; // d×d row-major; row k = k-th eigenvector (descending eigenvalue)
    private final float[] centroids; // C×d_pub row-major, in the unrotated prefix space

    public EncryptionModel(
            String id,
            ModelParameters parameters,
            Instant created,
            double betaScale,
            int sampleCount,
            float[] basis,
            float[] centroids) {
        this.id = checkId(id);
        this.parameters = Objects.requireNonNull(parameters, "parameters");
        this.created = Objects.requireNonNull(created, "created");
        if (!(betaScale >= 0) || Double.isInfinite(betaScale)) {
            throw new IllegalArgumentException("beta_scale must be finite and >= 0, got " + betaScale);
        }
        if (sampleCount < 0) {
            throw new IllegalArgumentException("sample_count must be >= 0, got " + sampleCount);
        }
        int d = parameters.dimension();
        if (basis == null || basis.length != d * d) {
            throw new IllegalArgumentException("basis must have dimension² = " + d * d + " entries");
        }
        if (centroids == null || centroids.length != parameters.cells() * parameters.prefixDimension()) {
            throw new IllegalArgumentException("centroids must have cells × prefix_dimension = "
                    + parameters.cells() * parameters.prefixDimension() + " entries");
        }
        this.betaScale = betaScale;
        this.sampleCount = sampleCount;
        this.basis = basis;
        this.centroids = centroids;
    }

    /** Model ids: 1–128 characters of [A-Za-z0-9._-], starting with a letter or digit. */
    public static String checkId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException(
                    "model id must be 1-128 characters of [A-Za-z0-9._-] starting with a letter or digit, got "
                            + (id == null ? "null" : "'" + id + "'"));
        }
        return id;
    }

    public String id() {
        return id;
    }

    public ModelParameters parameters() {
        return parameters;
    }

    public int epoch() {
        return parameters.epoch();
    }

    public Instant created() {
        return created;
    }

    /** Median query-to-10th-neighbour prefix distance measured at fit time (units of the normalized vectors). */
    public double betaScale() {
        return betaScale;
    }

    /** Absolute SAP β = parameters.beta (relative) × betaScale. */
    public double absoluteBeta() {
        return parameters.beta() * betaScale;
    }

    public int sampleCount() {
        return sampleCount;
    }

    /** Secret: the d×d basis, row-major (a copy). */
    public float[] basis() {
        return basis.clone();
    }

    /** Secret: the C×d_pub centroids, row-major (a copy). */
    public float[] centroids() {
        return centroids.clone();
    }

    float[] basisRef() {
        return basis;
    }

    float[] centroidsRef() {
        return centroids;
    }

    /** The same model with the epochs below {@code firstEpoch} retired (what {@code _retire} stores). */
    public EncryptionModel withFirstEpoch(int firstEpoch) {
        return new EncryptionModel(
                id, parameters.withFirstEpoch(firstEpoch), created, betaScale, sampleCount, basis, centroids);
    }

    /** The same model at another epoch (what {@code _rotate} stores): same secrets, keys derived anew. */
    public EncryptionModel withEpoch(int epoch) {
        return new EncryptionModel(id, parameters.withEpoch(epoch), created, betaScale, sampleCount, basis, centroids);
    }

    /** The same fitted model with another relative β. */
    public EncryptionModel withBeta(double beta) {
        return new EncryptionModel(id, parameters.withBeta(beta), created, betaScale, sampleCount, basis, centroids);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncryptionModel m
                && id.equals(m.id)
                && parameters.equals(m.parameters)
                && created.equals(m.created)
                && Double.compare(betaScale, m.betaScale) == 0
                && sampleCount == m.sampleCount
                && Arrays.equals(basis, m.basis)
                && Arrays.equals(centroids, m.centroids);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, parameters, created, betaScale, sampleCount);
    }

    @Override
    public String toString() {
        return "EncryptionModel[id=" + id + ", " + parameters + ", betaScale=" + betaScale + ", samples=" + sampleCount
                + ", secrets redacted]";
    }
}
