package org.encryptedknn.keystore;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.encryptedknn.prefix.ScaleAndPerturb;
import org.encryptedknn.transform.EncryptedVector;

/**
 * Conversions between document values (maps and lists, as ingest documents and {@code _source} hold them) and the
 * crypto core's types. Error messages name the field and never echo values (a refused value may be a plaintext
 * embedding).
 */
public final class Records {

    private Records() {}

    /** The stored object form {@code {"p":[…],"n":"<b64>","c":17,"z":"<b64>","e":1}}. */
    public static Map<String, Object> toMap(EncryptedVector v) {
        Map<String, Object> m = new LinkedHashMap<>();
        float[] p = v.prefix();
        List<Float> prefix = new ArrayList<>(p.length);
        for (float f : p) {
            prefix.add(f);
        }
        m.put(EncryptedVector.PREFIX, prefix);
        m.put(EncryptedVector.NONCE, Base64.getEncoder().encodeToString(v.nonce()));
        m.put(EncryptedVector.CELL, v.cell());
        m.put(EncryptedVector.KEYED_RESIDUAL, EncryptedVector.encodeFloats(v.keyedResidual()));
        m.put(EncryptedVector.EPOCH, v.epoch());
        return m;
    }

    /** True if the value has the shape of a stored encrypted record (a map with p, n, c, z, e). */
    public static boolean isRecord(Object value) {
        return value instanceof Map<?, ?> m
                && m.containsKey(EncryptedVector.PREFIX)
                && m.containsKey(EncryptedVector.NONCE)
                && m.containsKey(EncryptedVector.KEYED_RESIDUAL);
    }

    /** Parses a stored record of {@code field} for a model with the given prefix and residual dimensions. */
    public static EncryptedVector fromMap(
            Object value, String field, int prefixDimension, int residualDimension, int cells) {
        return fromMap(value, field, prefixDimension, residualDimension, cells, true);
    }

    /**
     * As {@link #fromMap(Object, String, int, int, int)}; with {@code residualRequired} false a record whose {@code z}
     * was left out of {@code _source} gets zeros in its place (its residual term comes from elsewhere).
     */
    public static EncryptedVector fromMap(
            Object value,
            String field,
            int prefixDimension,
            int residualDimension,
            int cells,
            boolean residualRequired) {
        if (!(value instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(
                    "field [" + field + "] does not hold an encrypted vector object {p,n,c,z,e}");
        }
        Object p = m.get(EncryptedVector.PREFIX);
        if (!(p instanceof List<?> list) || list.size() != prefixDimension) {
            throw new IllegalArgumentException(
                    "field [" + field + "]: [p] must be an array of " + prefixDimension + " numbers");
        }
        float[] prefix = new float[prefixDimension];
        for (int i = 0; i < prefixDimension; i++) {
            if (!(list.get(i) instanceof Number n) || Float.isFinite(n.floatValue()) == false) {
                throw new IllegalArgumentException("field [" + field + "]: [p][" + i + "] is not a finite number");
            }
            prefix[i] = ((Number) list.get(i)).floatValue();
        }
        byte[] nonce;
        float[] z;
        try {
            nonce = Base64.getDecoder().decode(string(m.get(EncryptedVector.NONCE), field, "n"));
            z = residualRequired || m.containsKey(EncryptedVector.KEYED_RESIDUAL)
                    ? EncryptedVector.decodeFloats(string(m.get(EncryptedVector.KEYED_RESIDUAL), field, "z"))
                    : new float[residualDimension];
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "field [" + field + "]: [n] or [z] is not valid base64 of the expected length");
        }
        if (nonce.length != ScaleAndPerturb.NONCE_LENGTH) {
            throw new IllegalArgumentException(
                    "field [" + field + "]: [n] must decode to " + ScaleAndPerturb.NONCE_LENGTH + " bytes");
        }
        if (z.length != residualDimension) {
            throw new IllegalArgumentException(
                    "field [" + field + "]: [z] must hold " + residualDimension + " float32 values");
        }
        int cell = integer(m.get(EncryptedVector.CELL), field, "c");
        if (cell < 0 || cell >= cells) {
            throw new IllegalArgumentException("field [" + field + "]: [c] must be a cell id in [0, " + cells + ")");
        }
        int epoch = integer(m.get(EncryptedVector.EPOCH), field, "e");
        return new EncryptedVector(prefix, nonce, cell, z, epoch);
    }

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

    private static String string(Object o, String field, String key) {
        if (o instanceof String s) {
            return s;
        }
        throw new IllegalArgumentException("field [" + field + "]: [" + key + "] must be a base64 string");
    }

    private static int integer(Object o, String field, String key) {
        if (o instanceof Integer || o instanceof Long || o instanceof Short) {
            long v = ((Number) o).longValue();
            if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                return (int) v;
            }
        }
        throw new IllegalArgumentException("field [" + field + "]: [" + key + "] must be an integer");
    }
}
