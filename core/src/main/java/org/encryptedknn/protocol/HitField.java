package org.encryptedknn.protocol;

/**
 * The one owner of the per-hit field {@value #NAME} (design.md §5.3), which the plugin's fetch sub-phase writes and the
 * gateway's rerank processor and the client read; its keys are this enum's {@link #key()}s:
 *
 * <pre>{"cell":17,"epoch":1,"prefix":"&lt;b64 float32 p&gt;","nonce":"&lt;b64 n&gt;","probed":true,"residual":0.18}</pre>
 *
 * <p>Always {@link #CELL}, {@link #EPOCH}, {@link #PREFIX}, {@link #NONCE}, {@link #PROBED}; keyed and probed:
 * {@link #RESIDUAL}; a window hit of an unprobed cell: {@link #KEYED_RESIDUAL}; ckks and probed: {@link #BATCH},
 * {@link #SLOT}, and on the first returned hit of a batch {@link #COUNT} and {@link #CIPHERTEXT}; outside the rescore
 * window: {@code "rescored": false}.
 */
public enum HitField {
    CELL("cell"),
    EPOCH("epoch"),
    /** p, base64 of little-endian float32. */
    PREFIX("prefix"),
    /** n, base64 of the 16 nonce bytes. */
    NONCE("nonce"),
    /** Whether the hit's cell was probed, i.e. its residual term was computed on the data node. */
    PROBED("probed"),
    /** Keyed mode: the residual term the data node computed, ⟨s² H_c r_q, z⟩ (the key holder divides by s²). */
    RESIDUAL("residual"),
    /** z (base64 float32), for a window hit whose cell was not probed. The same key as in the stored record. */
    KEYED_RESIDUAL("z"),
    /** ckks mode: {@code <index>/<shard>/<n>}, the batch whose ciphertext holds this hit's residual term. */
    BATCH("batch"),
    /** ckks mode: the hit's slot in its batch. */
    SLOT("slot"),
    /** ckks mode, first returned hit of a batch: the number of hits in the batch. */
    COUNT("count"),
    /** ckks mode, first returned hit of a batch: the result ciphertext in the {@code EKW1} wire form. */
    CIPHERTEXT("ciphertext"),
    /** {@code false} for a hit outside the rescore window. */
    RESCORED("rescored");

    /** The document field added under {@code fields} of each hit of an {@code encrypted_knn} rescore. */
    public static final String NAME = "_encrypted_knn";

    private final String key;

    HitField(String key) {
        this.key = key;
    }

    /** The key of this part in the field's object. */
    public String key() {
        return key;
    }
}
