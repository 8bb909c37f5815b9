package org.encryptedknn.rescore;

import java.util.Locale;

/**
 * How the encrypted_knn rescorer scores the residual term.
 *
 * <ul>
 *   <li>{@link #KEYED}: the query carries H_c r_q in clear per cell; the data node computes exact scores and sorts.
 *       Leaks the keyed query residuals and the scores to the storage tier (documented per-request choice).</li>
 *   <li>{@link #CKKS}: the query carries CKKS ciphertexts of H_c r_q; the data node multiplies them with packed
 *       residuals and returns the ciphertexts with the response; the key holder decrypts and ranks (docs/ckks-mode.md).</li>
 * </ul>
 */
public enum RescoreMode {
    KEYED,
    CKKS;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static RescoreMode fromString(String value) {
        for (RescoreMode mode : values()) {
            if (mode.wireName().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException(
                "[encrypted_knn] rescore [mode] must be [keyed] or [ckks], got [" + value + "]");
    }
}
