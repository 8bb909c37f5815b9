package org.encryptedknn.mapper;

import org.apache.lucene.util.BytesRef;
import org.encryptedknn.transform.ResidualLayout;

/**
 * The index fields the mapper writes next to the HNSW prefix {@code <field>}: the binary doc value
 * {@code <field>._residual} the rescorer reads (cell, epoch and z: one compact record per document, so keyed rescoring
 * touches one doc value per hit instead of parsing {@code _source}; a sealed record's epoch and s),
 * {@code <field>._nonce} and {@code <field>._epoch}.
 * Their binary layouts belong to {@link ResidualLayout} in core; this class names the fields and reads Lucene's
 * {@link BytesRef}s.
 */
public final class ResidualDocValues {

    /** Suffix of the binary doc-values field holding cell, epoch and keyed residual. */
    public static final String RESIDUAL_SUFFIX = "._residual";
    /** Suffix of the binary doc-values field holding the SAP nonce n (for the per-hit field of search responses). */
    public static final String NONCE_SUFFIX = "._nonce";
    /** Suffix of the int field (points + doc values) holding the key epoch, for epoch filters. */
    public static final String EPOCH_SUFFIX = "._epoch";

    private ResidualDocValues() {}

    public static String residualField(String field) {
        return field + RESIDUAL_SUFFIX;
    }

    public static String nonceField(String field) {
        return field + NONCE_SUFFIX;
    }

    public static String epochField(String field) {
        return field + EPOCH_SUFFIX;
    }

    /** The {@code ._residual} doc value of a record ({@link ResidualLayout}). */
    public static BytesRef encodeResidual(int cell, int epoch, float[] z) {
        return new BytesRef(ResidualLayout.encodeResidual(cell, epoch, z));
    }

    /** The {@code ._residual} doc value of a sealed record: epoch and s ({@link ResidualLayout}). */
    public static BytesRef encodeSealed(int epoch, byte[] sealed) {
        return new BytesRef(ResidualLayout.encodeSealed(epoch, sealed));
    }

    /** The {@code ._nonce} doc value of a record ({@link ResidualLayout}). */
    public static BytesRef encodeNonce(byte[] nonce) {
        return new BytesRef(ResidualLayout.encodeNonce(nonce));
    }

    /** A {@code ._residual} doc value, read in place. */
    public static ResidualLayout.Residual residual(BytesRef value) {
        return ResidualLayout.residual(value.bytes, value.offset, value.length);
    }

    /** The SAP nonce from a {@code ._nonce} doc value. */
    public static byte[] nonce(BytesRef value) {
        return ResidualLayout.nonce(value.bytes, value.offset, value.length);
    }
}
