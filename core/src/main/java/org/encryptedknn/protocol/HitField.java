package org.encryptedknn.protocol;

/**
 * The one owner of the per-hit field {@value #NAME} (design.md §5.3), which the plugin's fetch sub-phase writes and the
 * gateway's rerank processor and the client read; its keys are this enum's {@link #key()}s:
 *
 * <pre>{"record":"&lt;binary per-hit record&gt;","probed":true,"residual":0.18}</pre>
 *
 * <p>Always {@link #RECORD} (cell, epoch, nonce, p and, unless the hit's residual term travels otherwise, z: the binary
 * form of {@code transform.ResidualLayout#encodeHitRecord}, base64 in JSON, a byte string in CBOR/SMILE). With an
 * {@code encrypted_knn} rescore also {@link #PROBED}; keyed and probed: {@link #RESIDUAL}; ckks and probed:
 * {@link #BATCH}, {@link #SLOT}, and on the first returned hit of a batch {@link #COUNT} and {@link #CIPHERTEXT};
 * outside the rescore window: {@code "rescored": false}.
 *
 * <p>Without a rescore (the {@code key_holder} search mode) the field is asked for with the search extension
 * {@value #REQUEST_EXT} whose one key {@value #REQUEST_FIELD} names the vector field:
 *
 * <pre>"ext":{"encrypted_knn_records":{"field":"embedding"}}</pre>
 *
 * <p>Every hit then carries its whole record, so the response need not carry {@code _source}.
 */
public enum HitField {
    /** The hit's record in the binary per-hit form: cell, epoch, nonce, p, and z where the key holder needs it. */
    RECORD("record"),
    /** Whether the hit's cell was probed, i.e. its residual term was computed on the data node. */
    PROBED("probed"),
    /** Keyed mode: the residual term the data node computed, ⟨s² H_c r_q, z⟩ (the key holder divides by s²). */
    RESIDUAL("residual"),
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

    /** The document field added under {@code fields} of each hit. */
    public static final String NAME = "_encrypted_knn";

    /** The search extension ({@code ext}) that asks for the field without a rescore. */
    public static final String REQUEST_EXT = "encrypted_knn_records";

    /** The extension's one key: the {@code encrypted_knn_vector} field whose records the hits carry. */
    public static final String REQUEST_FIELD = "field";

    private final String key;

    HitField(String key) {
        this.key = key;
    }

    /** The key of this part in the field's object. */
    public String key() {
        return key;
    }
}
