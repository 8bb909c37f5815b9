package org.encryptedknn.transform;

import java.util.Locale;

/**
 * What a record carries besides the HNSW prefix p (docs/design.md §5.1, docs/security.md): the choice of whoever
 * encrypts (the ingest processors' and the client's {@code record_form}). {@link #DEFAULT} is the form that leaks
 * least, and the default search mode ({@code key_holder}) scores it fastest.
 */
public enum RecordForm {
    /**
     * z = H_c [r; t] under the cell's key, and the cell c: what the {@code keyed_leaks_query_residuals} and {@code ckks}
     * search modes score on the data node. z keeps the inner products of the records of one cell, which the storage
     * tier can read (docs/security.md).
     */
    KEYED("keyed"),
    /**
     * s = AES-256-GCM of the whole vector, no cell: only the key holder can score it ({@code key_holder} mode), from s
     * alone, and the storage tier learns nothing from it but its length.
     */
    SEALED("sealed");

    /** What every writer produces unless told otherwise. */
    public static final RecordForm DEFAULT = SEALED;

    private final String wireName;

    RecordForm(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    /** The form named {@code value}; the message names {@code subject} and the accepted values. */
    public static RecordForm parse(String value, String subject) {
        for (RecordForm form : values()) {
            if (form.wireName.equals(value)) {
                return form;
            }
        }
        throw new IllegalArgumentException(subject + " must be [keyed] or [sealed], got ["
                + String.valueOf(value).toLowerCase(Locale.ROOT) + "]");
    }
}
