package org.encryptedknn.model;

import java.time.Instant;

/** The public part of a stored model, readable without any key (what {@code GET …/models/{id}} returns). */
public record ModelMetadata(
        String id,
        ModelParameters parameters,
        Instant created,
        double betaScale,
        int sampleCount,
        double residualNorm,
        double cellJitter,
        int upgradedAtEpoch,
        double prefixNorm,
        WindowCalibration calibration) {

    public static ModelMetadata of(EncryptionModel m) {
        return new ModelMetadata(
                m.id(),
                m.parameters(),
                m.created(),
                m.betaScale(),
                m.sampleCount(),
                m.residualNorm(),
                m.cellJitter(),
                m.upgradedAtEpoch(),
                m.prefixNorm(),
                m.calibration());
    }

    /** The default candidate window k for an index of {@code documents} documents (0: unknown). */
    public int defaultWindow(long documents) {
        return WindowCalibration.defaultWindow(calibration, documents);
    }

    /** {@link PrefixLayout#AUGMENTED} when the model has a {@code prefix_norm}. */
    public PrefixLayout prefixLayout() {
        return PrefixLayout.of(prefixNorm);
    }

    /** Absolute SAP β = beta (relative) × beta scale. */
    public double absoluteBeta() {
        return parameters.beta() * betaScale;
    }
}
