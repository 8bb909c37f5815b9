package org.encryptedknn.transform;

import java.util.Arrays;
import java.util.Objects;

/**
 * An encrypted query, as held by the key holder (client or gateway).
 *
 * <p>Public part, sent to the storage tier: {@link #prefix()} p_q = SAP_Q(R_pub u_q) (the HNSW query vector),
 * plus the model id and epoch. Secret part, never sent: {@link #rotatedPrefix()} R_pub u_q (for exact prefix
 * scores), the query residual r_q = V_r x_q (x_q normalized when cosine), from which keyed residual queries H_c r_q
 * are computed by {@link VectorTransform#keyedResidualQuery}, and x_q itself, which scores sealed records.
 * {@link #toString()} prints none of them.
 */
public final class EncryptedQuery {

    private final String modelId;
    private final int epoch;
    private final float[] prefix;
    private final byte[] nonce;
    private final float[] rotatedPrefix;
    private final float[] residual;
    private final float[] vector;

    EncryptedQuery(
            String modelId,
            int epoch,
            float[] prefix,
            byte[] nonce,
            float[] rotatedPrefix,
            float[] residual,
            float[] vector) {
        this.modelId = Objects.requireNonNull(modelId);
        this.epoch = epoch;
        this.prefix = prefix;
        this.nonce = nonce;
        this.rotatedPrefix = rotatedPrefix;
        this.residual = residual;
        this.vector = vector;
    }

    public String modelId() {
        return modelId;
    }

    public int epoch() {
        return epoch;
    }

    /** Public: the SAP query ciphertext of the rotated prefix (a copy). */
    public float[] prefix() {
        return prefix.clone();
    }

    /** The SAP nonce of the query ciphertext (a copy); not needed by the server. */
    public byte[] nonce() {
        return nonce.clone();
    }

    /** Secret: R_pub u_q (a copy). */
    public float[] rotatedPrefix() {
        return rotatedPrefix.clone();
    }

    float[] rotatedPrefixRef() {
        return rotatedPrefix;
    }

    float[] residualRef() {
        return residual;
    }

    /** x_q as encrypted (normalized when cosine): a sealed record's score is ⟨x_q, x_i⟩. */
    float[] vectorRef() {
        return vector;
    }

    /** Zeroes the secret parts. */
    public void wipe() {
        Arrays.fill(rotatedPrefix, 0f);
        Arrays.fill(residual, 0f);
        Arrays.fill(vector, 0f);
    }

    @Override
    public String toString() {
        return "EncryptedQuery[model=" + modelId + ", e=" + epoch + ", p=" + prefix.length
                + " floats, secrets redacted]";
    }
}
