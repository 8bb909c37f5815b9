package org.encryptedknn.protocol;

/**
 * The one owner of the per-hit field {@value #NAME} (design.md §5.3), which the plugin's fetch sub-phase writes and the
 * gateway's rerank processor and the client read:
 *
 * <pre>{"cell":17,"epoch":1,"prefix":"&lt;b64 float32 p&gt;","nonce":"&lt;b64 n&gt;","probed":true,"residual":0.18}</pre>
 *
 * <p>Always {@link #CELL}, {@link #EPOCH}, {@link #PREFIX}, {@link #NONCE}, {@link #PROBED}; keyed and probed:
 * {@link #RESIDUAL}; a window hit of an unprobed cell: {@link #KEYED_RESIDUAL}; ckks and probed: {@link #BATCH},
 * {@link #SLOT}, and on the first returned hit of a batch {@link #COUNT} and {@link #CIPHERTEXT}; outside the rescore
 * window: {@code "rescored": false}.
 */
public final class HitField {

    /** The document field added under {@code fields} of each hit of an {@code encrypted_knn} rescore. */
    public static final String NAME = "_encrypted_knn";

    public static final String CELL = "cell";
    public static final String EPOCH = "epoch";
    /** p, base64 of little-endian float32. */
    public static final String PREFIX = "prefix";
    /** n, base64 of the 16 nonce bytes. */
    public static final String NONCE = "nonce";
    /** Whether the hit's cell was probed, i.e. its residual term was computed on the data node. */
    public static final String PROBED = "probed";
    /** Keyed mode: the exact residual term ⟨H_c r_q, z⟩. */
    public static final String RESIDUAL = "residual";
    /** z (base64 float32), for a window hit whose cell was not probed. Same key as in the stored record. */
    public static final String KEYED_RESIDUAL = "z";
    /** ckks mode: {@code <index>/<shard>/<n>}, the batch whose ciphertext holds this hit's residual term. */
    public static final String BATCH = "batch";
    /** ckks mode: the hit's slot in its batch. */
    public static final String SLOT = "slot";
    /** ckks mode, first returned hit of a batch: the number of hits in the batch. */
    public static final String COUNT = "count";
    /** ckks mode, first returned hit of a batch: the result ciphertext in the {@code EKW1} wire form. */
    public static final String CIPHERTEXT = "ciphertext";
    /** {@code false} for a hit outside the rescore window. */
    public static final String RESCORED = "rescored";

    private HitField() {}
}
