package org.encryptedknn.model;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Pattern;
import org.encryptedknn.keys.KeyDerivation;

/**
 * A fitted model: public metadata plus the fitted secrets (the orthogonal basis V, the cell
 * centroids of the prefix and the key salt). Keys (SAP, R_pub, H_c) are not stored: they are derived from the
 * master key, the model id, the key salt and the epoch. Immutable; {@link #toString()} prints no secret.
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
    private final byte[] keySalt; // 32 random bytes drawn at fit time (key derivation v2); null for v1 models

    /** @param keySalt the model's key salt ({@link #newKeySalt()}); null for a model stored in format v1 (no salt) */
    public EncryptionModel(
            String id,
            ModelParameters parameters,
            Instant created,
            double betaScale,
            int sampleCount,
            float[] basis,
            float[] centroids,
            byte[] keySalt) {
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
        if (keySalt != null && keySalt.length != KeyDerivation.MODEL_SALT_LENGTH) {
            throw new IllegalArgumentException("key salt must be " + KeyDerivation.MODEL_SALT_LENGTH + " bytes");
        }
        this.keySalt = keySalt;
    }

    /** A fresh random key salt for a new model (SecureRandom). */
    public static byte[] newKeySalt() {
        byte[] salt = new byte[KeyDerivation.MODEL_SALT_LENGTH];
        SALTS.nextBytes(salt);
        return salt;
    }

    private static final SecureRandom SALTS = new SecureRandom();

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

    /**
     * Secret: the key salt bound into every model key (key derivation v2), a copy; null for a model of format v1,
     * whose keys are derived without it.
     */
    public byte[] keySalt() {
        return keySalt == null ? null : keySalt.clone();
    }

    /** True for a model of format v2 (key salt), false for one of format v1. */
    public boolean hasKeySalt() {
        return keySalt != null;
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
                id, parameters.withFirstEpoch(firstEpoch), created, betaScale, sampleCount, basis, centroids, keySalt);
    }

    /** The same model at another epoch (what {@code _rotate} stores): same secrets, keys derived anew. */
    public EncryptionModel withEpoch(int epoch) {
        return new EncryptionModel(
                id, parameters.withEpoch(epoch), created, betaScale, sampleCount, basis, centroids, keySalt);
    }

    /** The same fitted model with another relative β. */
    public EncryptionModel withBeta(double beta) {
        return new EncryptionModel(
                id, parameters.withBeta(beta), created, betaScale, sampleCount, basis, centroids, keySalt);
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
                && Arrays.equals(centroids, m.centroids)
                && Arrays.equals(keySalt, m.keySalt);
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
