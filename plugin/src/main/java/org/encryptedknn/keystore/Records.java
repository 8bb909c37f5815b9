package org.encryptedknn.keystore;

import java.util.List;
import java.util.Map;

/**
 * Plaintext vectors from document values (maps and lists, as ingest documents and {@code _source} hold them). The
 * encrypted record's document form is {@link org.encryptedknn.transform.RecordFormat}'s. Error messages name the field
 * and never echo values (a refused value may be a plaintext embedding).
 */
public final class Records {

    private Records() {}

    /** A plaintext vector from a document value: a list of {@code dimension} finite numbers. */
    public static float[] plainVector(Object value, String field, int dimension) {
        if (!(value instanceof List<?> list)) {
            throw new IllegalArgumentException("field [" + field + "] must be an array of " + dimension
                    + " numbers (the plaintext vector to encrypt), got "
                    + (value == null
                            ? "null"
                            : value instanceof Map
                                    ? "an object"
                                    : "a " + value.getClass().getSimpleName()));
        }
        if (list.size() != dimension) {
            throw new IllegalArgumentException(
                    "field [" + field + "] has " + list.size() + " values but the model has dimension " + dimension);
        }
        float[] out = new float[dimension];
        for (int i = 0; i < dimension; i++) {
            Object o = list.get(i);
            if (!(o instanceof Number n)) {
                throw new IllegalArgumentException("field [" + field + "][" + i + "] is not a number");
            }
            float f = n.floatValue();
            if (Float.isFinite(f) == false) {
                throw new IllegalArgumentException(
                        "field [" + field + "][" + i + "] is not a finite float32 (NaN or infinite)");
            }
            out[i] = f;
        }
        return out;
    }

    /** Checks a query or document vector given as floats: length and finiteness. */
    public static void checkVector(float[] v, String what, int dimension) {
        if (v.length != dimension) {
            throw new IllegalArgumentException(
                    what + " has " + v.length + " values but the model has dimension " + dimension);
        }
        for (int i = 0; i < v.length; i++) {
            if (Float.isFinite(v[i]) == false) {
                throw new IllegalArgumentException(what + "[" + i + "] is not a finite float32 (NaN or infinite)");
            }
        }
    }
}
