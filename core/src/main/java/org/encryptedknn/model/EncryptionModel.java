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

    /**
     * Cell jitter of every newly fitted model, relative to beta_scale (docs/security.md "Per-epoch cells": the sweep
     * that chose it).
     */
    public static final double DEFAULT_CELL_JITTER = 4.0;

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final String id;
    private final ModelParameters parameters;
    private final Instant created;
    private final double betaScale;
    private final int sampleCount;
    private final float[] basis; // d×d row-major; row k = k-th eigenvector (descending eigenvalue)
    private final float[] centroids; // C×d_pub row-major, in the unrotated prefix space
    private final byte[] keySalt; // 32 random bytes drawn at fit time (key derivation v2); null for v1 models
    private final double residualNorm; // T, the norm of every stored z (record residual v2); 0: unpadded (v1 layout)
    private final double cellJitter; // relative (× beta_scale); 0: the cell is the nearest centroid in every epoch
    private final double prefixNorm; // B, the norm of every augmented prefix [u; t′]; 0: plain prefix u
    private final int
            upgradedAtEpoch; // > 0: upgraded from format v1 by _rotate; epochs below it keep v1 (see epochIsV1)
    private final WindowCalibration calibration; // the default window measured at fit time; null before format v3

    /**
     * @param keySalt         the model's key salt ({@link #newKeySalt()}); null for a model stored in format v1 (no
     *                        salt)
     * @param residualNorm    T &gt; 0: records store z = H_c·[r; t] with every ‖z‖ = T ({@link #residualLength()} is
     *                        d − d_pub + 1); 0 for a model fitted before residual padding (z = H_c·r, d − d_pub values)
     * @param cellJitter      ≥ 0, relative to beta_scale: a record's cell is the centroid nearest its prefix plus a
     *                        keyed jitter drawn per epoch from its nonce ({@link #absoluteCellJitter()}), so the
     *                        partition changes with every epoch; 0 keeps the nearest centroid (one partition for all)
     * @param upgradedAtEpoch 0, or the first epoch of format v2 of a model {@linkplain #upgradeToV2 upgraded} from v1
     * @param prefixNorm      B &gt; 0: the {@linkplain PrefixLayout#AUGMENTED augmented prefix} [u; t′] of norm B
     *                        (format v4, every model fitted since); 0 for the plain prefix u of the models fitted before
     */
    public EncryptionModel(
            String id,
            ModelParameters parameters,
            Instant created,
            double betaScale,
            int sampleCount,
            float[] basis,
            float[] centroids,
            byte[] keySalt,
            double residualNorm,
            double cellJitter,
            int upgradedAtEpoch,
            double prefixNorm) {
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
        if (!(residualNorm >= 0) || Double.isInfinite(residualNorm)) {
            throw new IllegalArgumentException("residual_norm must be finite and >= 0, got " + residualNorm);
        }
        this.residualNorm = residualNorm;
        if (!(cellJitter >= 0) || Double.isInfinite(cellJitter)) {
            throw new IllegalArgumentException("cell_jitter must be finite and >= 0, got " + cellJitter);
        }
        this.cellJitter = cellJitter;
        if (upgradedAtEpoch < 0
                || (upgradedAtEpoch > 0 && (keySalt == null || residualNorm == 0 || upgradedAtEpoch > epoch()))) {
            throw new IllegalArgumentException(
                    "upgraded_at_epoch must be 0, or an epoch <= the model's epoch of a model"
                            + " with key salt and residual_norm, got " + upgradedAtEpoch);
        }
        this.upgradedAtEpoch = upgradedAtEpoch;
        if (!(prefixNorm >= 0) || Double.isInfinite(prefixNorm) || (prefixNorm > 0 && keySalt == null)) {
            throw new IllegalArgumentException(
                    "prefix_norm must be finite and >= 0, and 0 for a model of format v1, got " + prefixNorm);
        }
        this.prefixNorm = prefixNorm;
        this.calibration = null;
    }

    /** {@code base} with another window calibration (the fitted secrets are shared, not copied). */
    private EncryptionModel(EncryptionModel base, ParametersOrCalibration change) {
        this.id = base.id;
        this.parameters = change.parameters;
        this.created = base.created;
        this.betaScale = base.betaScale;
        this.sampleCount = base.sampleCount;
        this.basis = base.basis;
        this.centroids = base.centroids;
        this.keySalt = base.keySalt;
        this.residualNorm = base.residualNorm;
        this.cellJitter = base.cellJitter;
        this.upgradedAtEpoch = base.upgradedAtEpoch;
        this.prefixNorm = base.prefixNorm;
        if (change.calibration != null && keySalt == null) {
            throw new IllegalArgumentException("a model of format v1 (no key salt) has no window calibration");
        }
        this.calibration = change.calibration;
    }

    private record ParametersOrCalibration(ModelParameters parameters, WindowCalibration calibration) {}

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

    /**
     * T, the norm every stored residual z has (records of residual layout v2: z = H_c·[r; t], t = √(T² − ‖r‖²));
     * 1 for cosine, the largest ‖r‖ of the training vectors times {@link ModelFitter#RESIDUAL_NORM_MARGIN} for inner
     * product. 0 for a model without residual padding (z = H_c·r, whose norm is ‖r‖).
     */
    public double residualNorm() {
        return residualNorm;
    }

    /** True if records carry the padded residual z = H_c·[r; t] of one norm. */
    public boolean hasResidualPadding() {
        return residualNorm > 0;
    }

    /** Length of the stored residual z: d − d_pub, plus one for the padding coordinate of a padded model. */
    public int residualLength() {
        return parameters.residualDimension() + (hasResidualPadding() ? 1 : 0);
    }

    /**
     * Relative scale of the per-epoch cell jitter (docs/design.md §2 "Cells"): the cell of a record at epoch e is the
     * centroid nearest R u + ε, ε a keyed Gaussian drawn from the record's nonce under the epoch's cell-jitter key
     * with ‖ε‖ ≈ {@link #absoluteCellJitter()}. 0 for models fitted before (nearest centroid, one partition for all
     * epochs).
     */
    public double cellJitter() {
        return cellJitter;
    }

    /** The jitter's scale in the units of the prefix: cell_jitter × beta_scale. */
    public double absoluteCellJitter() {
        return cellJitter * betaScale;
    }

    /** True if the cell partition is drawn afresh per epoch ({@link #cellJitter()} &gt; 0). */
    public boolean hasEpochCells() {
        return absoluteCellJitter() > 0;
    }

    /**
     * B, the norm of every document prefix [u; t′] before the noise ({@link PrefixLayout#AUGMENTED}): 1 for cosine, the
     * largest ‖u‖ of the training vectors times {@link ModelFitter#RESIDUAL_NORM_MARGIN} for inner product (the same
     * rule as {@link #residualNorm()}). 0 for the plain prefix.
     */
    public double prefixNorm() {
        return prefixNorm;
    }

    /** The model's prefix layout: model-wide, the same in every epoch (it fixes the width of the index's HNSW field). */
    public PrefixLayout prefixLayout() {
        return PrefixLayout.of(prefixNorm);
    }

    /** Length of the stored prefix p, the HNSW vector: d_pub, plus one for the augmented layout. */
    public int prefixWidth() {
        return prefixLayout().width(parameters.prefixDimension());
    }

    /**
     * The first epoch of format v2 of a model upgraded from format v1 by {@code _rotate} ({@link #upgradeToV2}); 0 for a
     * model that was never upgraded.
     */
    public int upgradedAtEpoch() {
        return upgradedAtEpoch;
    }

    /**
     * True if {@code epoch}'s keys and records are of format v1: key derivation without the salt and the unpadded
     * residual z = H_c·r. For an upgraded model, the epochs before the upgrade (their records are re-keyed to a v2
     * epoch in place, docs/gateway-mode.md §5); for a model of format v1, every epoch.
     */
    public boolean epochIsV1(int epoch) {
        return keySalt == null || epoch < upgradedAtEpoch;
    }

    /** The key salt of {@code epoch}'s keys: null for a v1 epoch ({@link #epochIsV1}). */
    public byte[] keySaltAt(int epoch) {
        return epochIsV1(epoch) ? null : keySalt();
    }

    /** T of {@code epoch}'s records: 0 (unpadded) for a v1 epoch. */
    public double residualNormAt(int epoch) {
        return epochIsV1(epoch) ? 0 : residualNorm;
    }

    /** Length of {@code epoch}'s stored residual z. */
    public int residualLengthAt(int epoch) {
        return parameters.residualDimension() + (residualNormAt(epoch) > 0 ? 1 : 0);
    }

    /** True if records of some live epochs are padded and of others not (an upgraded model, before _retire). */
    public boolean mixesResidualLayouts() {
        return upgradedAtEpoch > parameters.firstEpoch();
    }

    /**
     * A model of format v1 moved to format v2 at {@code epoch} (what {@code _rotate} stores for it): a fresh key salt and
     * residual padding to {@code residualNorm} from that epoch on; the fitted basis and centroids stay, and the epochs
     * before it keep their v1 keys, so that their records stay readable and can be re-keyed in place.
     */
    public EncryptionModel upgradeToV2(int epoch, double residualNorm) {
        if (hasKeySalt()) {
            throw new IllegalStateException("model '" + id + "' is already of format v2");
        }
        return new EncryptionModel(
                id,
                parameters.withEpoch(epoch),
                created,
                betaScale,
                sampleCount,
                basis,
                centroids,
                newKeySalt(),
                residualNorm,
                cellJitter,
                epoch,
                0); // the index keeps its width: a model of format v1 stays plain
    }

    /** The default window measured at fit time, or null for a model fitted before calibration (format v1, v2). */
    public WindowCalibration calibration() {
        return calibration;
    }

    /** The default candidate window k for an index of {@code documents} documents (0: unknown). */
    public int defaultWindow(long documents) {
        return WindowCalibration.defaultWindow(calibration, documents);
    }

    float[] basisRef() {
        return basis;
    }

    float[] centroidsRef() {
        return centroids;
    }

    /** The same model with the epochs below {@code firstEpoch} retired (what {@code _retire} stores). */
    public EncryptionModel withFirstEpoch(int firstEpoch) {
        return with(parameters.withFirstEpoch(firstEpoch));
    }

    /**
     * What {@code _rotate} stores: the next epoch, keys derived anew. A cosine model of format v1 is upgraded to v2 there
     * ({@link #upgradeToV2}, T = 1 as for every cosine model); an inner-product one stays v1 (its T needs the training
     * vectors).
     */
    public EncryptionModel rotated() {
        int next = epoch() + 1;
        return hasKeySalt() || parameters.space() != Space.COSINE ? withEpoch(next) : upgradeToV2(next, 1.0);
    }

    /** The same model at another epoch: same secrets, keys derived anew. */
    public EncryptionModel withEpoch(int epoch) {
        return with(parameters.withEpoch(epoch));
    }

    /** The same fitted secrets, key salt and residual norm under other public parameters. */
    private EncryptionModel with(ModelParameters newParameters) {
        return new EncryptionModel(this, new ParametersOrCalibration(newParameters, calibration));
    }

    /** The same fitted model with another default window (re-calibration, {@link ModelFitter#calibrate}). */
    public EncryptionModel withCalibration(WindowCalibration newCalibration) {
        return new EncryptionModel(this, new ParametersOrCalibration(parameters, newCalibration));
    }

    /** The same fitted model with another relative cell jitter (0: nearest centroid in every epoch). */
    public EncryptionModel withCellJitter(double jitter) {
        return new EncryptionModel(
                        id,
                        parameters,
                        created,
                        betaScale,
                        sampleCount,
                        basis,
                        centroids,
                        keySalt,
                        residualNorm,
                        jitter,
                        upgradedAtEpoch,
                        prefixNorm)
                .withCalibration(calibration);
    }

    /** The same fitted model with another relative β. */
    public EncryptionModel withBeta(double beta) {
        return with(parameters.withBeta(beta));
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
                && Arrays.equals(keySalt, m.keySalt)
                && Double.compare(residualNorm, m.residualNorm) == 0
                && Double.compare(cellJitter, m.cellJitter) == 0
                && upgradedAtEpoch == m.upgradedAtEpoch
                && Double.compare(prefixNorm, m.prefixNorm) == 0
                && Objects.equals(calibration, m.calibration);
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
