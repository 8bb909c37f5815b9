package org.encryptedknn.transform;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.encryptedknn.keys.RecordSeal;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.prefix.ScaleAndPerturb;

/**
 * The one owner of the stored record's document forms (design.md §5.1), keyed
 * {@code {"p":[…],"n":"<b64>","c":17,"z":"<b64>","e":1}} and sealed {@code {"p":[…],"n":"<b64>","s":"<b64>","e":1}}:
 * their keys, their validation rules, their reader and writer. It works on plain maps and lists, what both OpenSearch
 * ({@code XContentParser.map()}, ingest documents, {@code _source}) and Jackson ({@code convertValue}) give, so the
 * mapper, the gateway processors and the client read a record the same way.
 *
 * <p>Errors are {@link IllegalArgumentException}s whose message starts with the caller's subject (e.g.
 * {@code field [embedding]}) and names the part; they never echo values, which may be a plaintext embedding.
 */
public final class RecordFormat {

    public static final String PREFIX = "p";
    public static final String NONCE = "n";
    public static final String CELL = "c";
    public static final String KEYED_RESIDUAL = "z";
    public static final String EPOCH = "e";
    public static final String SEALED = "s";

    private static final Set<String> KEYED_KEYS = Set.of(PREFIX, NONCE, CELL, KEYED_RESIDUAL, EPOCH);
    private static final Set<String> SEALED_KEYS = Set.of(PREFIX, NONCE, SEALED, EPOCH);

    /**
     * What a record must look like for one field: the model's dimensions, and whether {@code z} may be absent (a
     * {@code _source} that left it out; the reader then puts zeros in its place). Both forms fit every shape.
     */
    public record Shape(
            int dimension,
            int prefixWidth,
            int residualDimension,
            int cells,
            boolean residualRequired,
            boolean paddingOptional) {
        /**
         * @param dimension   d, the embedding's: a sealed record's s is d float32 values and the tag
         * @param prefixWidth length of p: prefix_dimension, plus one for the augmented layout
         */
        public Shape(int dimension, int prefixWidth, int residualDimension, int cells) {
            this(dimension, prefixWidth, residualDimension, cells, true, false);
        }

        /**
         * The shape of a model's records (z of {@link EncryptionModel#residualLength()} values; either length while an
         * upgraded model still has live epochs of format v1, whose transform then checks the record's own).
         */
        public static Shape of(EncryptionModel model) {
            ModelParameters parameters = model.parameters();
            int d = parameters.dimension();
            Shape shape = new Shape(d, model.prefixWidth(), parameters.residualDimension(), parameters.cells());
            if (model.mixesResidualLayouts()) {
                return shape.withPaddingOptional();
            }
            return model.hasResidualPadding()
                    ? new Shape(d, model.prefixWidth(), model.residualLength(), parameters.cells())
                    : shape;
        }

        public Shape residualOptional() {
            return new Shape(dimension, prefixWidth, residualDimension, cells, false, paddingOptional);
        }

        /**
         * Also accepts a z of {@code residualDimension + 1} values (record residual v2, padded to one norm): for the
         * data node, whose mapping does not say whether the model pads (docs/design.md §5).
         */
        public Shape withPaddingOptional() {
            return new Shape(dimension, prefixWidth, residualDimension, cells, residualRequired, true);
        }

        /** Bytes of a sealed record's s: d little-endian float32 values, then the 16-byte GCM tag. */
        public int sealedBytes() {
            return RecordFormat.sealedBytes(dimension);
        }

        private boolean fits(int residualLength) {
            return residualLength == residualDimension || (paddingOptional && residualLength == residualDimension + 1);
        }

        private String residualLengths() {
            return paddingOptional
                    ? residualDimension + " or " + (residualDimension + 1) + " (padded)"
                    : Integer.toString(residualDimension);
        }
    }

    /** Bytes of the SAP nonce {@code n}. */
    public static final int NONCE_BYTES = ScaleAndPerturb.NONCE_LENGTH;

    private RecordFormat() {}

    /** Bytes of the sealed part s of a d-dimensional record: d float32 values and the tag. */
    public static int sealedBytes(int dimension) {
        return dimension * Float.BYTES + RecordSeal.TAG_BYTES;
    }

    /** The document form of a record, keys in the order p, n, c, z, e (keyed) or p, n, s, e (sealed). */
    public static Map<String, Object> toMap(EncryptedVector v) {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Float> prefix = new ArrayList<>(v.prefix().length);
        for (float f : v.prefix()) {
            prefix.add(f);
        }
        m.put(PREFIX, prefix);
        m.put(NONCE, Base64.getEncoder().encodeToString(v.nonce()));
        if (v.isSealed()) {
            m.put(SEALED, Base64.getEncoder().encodeToString(v.sealed()));
            m.put(EPOCH, v.epoch());
            return m;
        }
        m.put(CELL, v.cell());
        m.put(KEYED_RESIDUAL, EncryptedVector.encodeFloats(v.keyedResidual()));
        m.put(EPOCH, v.epoch());
        return m;
    }

    /** True if the value has the shape of a record (a map with p, n and z or s), without validating it. */
    public static boolean looksLikeRecord(Object value) {
        return value instanceof Map<?, ?> m
                && m.containsKey(PREFIX)
                && m.containsKey(NONCE)
                && (m.containsKey(KEYED_RESIDUAL) || m.containsKey(SEALED));
    }

    /**
     * Reads and validates a record: exactly the keys p, n, c, z, e; {@code p} d_pub finite float32 numbers; {@code n}
     * base64 of 16 bytes; {@code c} a cell id in [0, C); {@code z} base64 of d − d_pub finite little-endian float32;
     * {@code e} an epoch ≥ 1. Or, with the key s, a sealed record: exactly p, n, s, e, {@code s} base64 of
     * {@link Shape#sealedBytes()} bytes (whether they open is the key holder's to find out).
     *
     * @param subject the start of every error message, naming the field, e.g. {@code field [embedding]}
     */
    public static EncryptedVector fromMap(Object value, String subject, Shape shape) {
        if (!(value instanceof Map<?, ?> m)) {
            throw bad(subject, "must be an encrypted vector object {p,n,c,z,e} or {p,n,s,e}");
        }
        if (m.containsKey(SEALED)) {
            return sealedFromMap(m, subject, shape);
        }
        onlyKeys(m, KEYED_KEYS, subject, "an encrypted vector has exactly the keys p, n, c, z, e");
        float[] p = prefix(required(m, PREFIX, subject, "the encrypted prefix"), subject, shape);
        byte[] n = nonce(required(m, NONCE, subject, "the nonce"), subject);
        int c = integer(required(m, CELL, subject, "the cell id"), subject, CELL);
        if (c < 0 || c >= shape.cells()) {
            throw bad(subject, "[c] must be a cell id in [0, " + shape.cells() + "), got " + c);
        }
        float[] z = shape.residualRequired() || m.get(KEYED_RESIDUAL) != null
                ? residual(required(m, KEYED_RESIDUAL, subject, "the keyed residual"), subject, shape)
                : new float[shape.residualDimension()];
        return new EncryptedVector(p, n, c, z, epoch(m, subject));
    }

    private static int epoch(Map<?, ?> m, String subject) {
        int e = integer(required(m, EPOCH, subject, "the key epoch"), subject, EPOCH);
        if (e < 1) {
            throw bad(subject, "[e] must be a key epoch >= 1, got " + e);
        }
        return e;
    }

    private static EncryptedVector sealedFromMap(Map<?, ?> m, String subject, Shape shape) {
        onlyKeys(m, SEALED_KEYS, subject, "a sealed encrypted vector has exactly the keys p, n, s, e");
        float[] p = prefix(required(m, PREFIX, subject, "the encrypted prefix"), subject, shape);
        byte[] n = nonce(required(m, NONCE, subject, "the nonce"), subject);
        byte[] s = sealed(required(m, SEALED, subject, "the sealed vector"), subject, shape);
        return EncryptedVector.sealed(p, n, s, epoch(m, subject));
    }

    private static void onlyKeys(Map<?, ?> m, Set<String> keys, String subject, String rule) {
        for (Object key : m.keySet()) {
            if (!(key instanceof String k) || !keys.contains(k)) {
                throw bad(subject, "unknown key [" + truncate(String.valueOf(key)) + "]; " + rule);
            }
        }
    }

    private static Object required(Map<?, ?> m, String key, String subject, String what) {
        Object value = m.get(key);
        if (value == null) {
            throw bad(subject, "missing [" + key + "] (" + what + ")");
        }
        return value;
    }

    private static float[] prefix(Object value, String subject, Shape shape) {
        int expected = shape.prefixWidth();
        if (!(value instanceof List<?> list)) {
            throw bad(
                    subject,
                    "[p] must be an array of " + expected
                            + " numbers (prefix_dimension, plus one for the augmented prefix_layout)");
        }
        if (list.size() != expected) {
            throw bad(
                    subject,
                    "[p] has " + list.size() + " values but the prefix width is " + expected
                            + " (prefix_dimension, plus one for the augmented prefix_layout)");
        }
        float[] out = new float[expected];
        for (int i = 0; i < expected; i++) {
            if (!(list.get(i) instanceof Number number)) {
                throw bad(subject, "[p][" + i + "] is not a number");
            }
            out[i] = number.floatValue();
            if (!Float.isFinite(out[i])) {
                throw bad(subject, "[p][" + i + "] is not a finite float32");
            }
        }
        return out;
    }

    private static byte[] nonce(Object value, String subject) {
        if (!(value instanceof String text)) {
            throw bad(subject, "[n] must be a base64 string of " + NONCE_BYTES + " bytes");
        }
        if (text.length() > 64) {
            throw bad(subject, "[n] must be base64 of " + NONCE_BYTES + " bytes, got " + text.length() + " characters");
        }
        byte[] nonce = base64(text, subject, NONCE);
        if (nonce.length != NONCE_BYTES) {
            throw bad(subject, "[n] must decode to " + NONCE_BYTES + " bytes, got " + nonce.length);
        }
        return nonce;
    }

    private static float[] residual(Object value, String subject, Shape shape) {
        String expected = shape.residualLengths();
        if (!(value instanceof String text)) {
            throw bad(
                    subject,
                    "[z] must be a base64 string of " + expected
                            + " little-endian float32 values (the model's residual length)");
        }
        int longest = shape.residualDimension() + (shape.paddingOptional() ? 1 : 0);
        long maxChars = 4L * ((longest * 4L + 2) / 3) + 4;
        if (text.length() > maxChars) {
            throw bad(
                    subject,
                    "[z] is too long: expected base64 of " + expected
                            + " float32 values (the model's residual length)");
        }
        byte[] bytes = base64(text, subject, KEYED_RESIDUAL);
        if (bytes.length % Float.BYTES != 0 || !shape.fits(bytes.length / Float.BYTES)) {
            throw bad(
                    subject,
                    "[z] must decode to " + expected + " float32 values (the model's residual length: dimension - "
                            + "prefix_dimension, plus one when the model pads it), got " + bytes.length + " bytes");
        }
        float[] z = EncryptedVector.floatsLittleEndian(bytes);
        for (int i = 0; i < z.length; i++) {
            if (!Float.isFinite(z[i])) {
                throw bad(subject, "[z][" + i + "] is not a finite float32");
            }
        }
        return z;
    }

    private static byte[] sealed(Object value, String subject, Shape shape) {
        int expected = shape.sealedBytes();
        String what = "base64 of " + expected + " bytes (the vector's " + shape.dimension()
                + " float32 values and the 16-byte tag)";
        if (!(value instanceof String text)) {
            throw bad(subject, "[s] must be a string: " + what);
        }
        if (text.length() > 4L * ((expected + 2) / 3) + 4) {
            throw bad(subject, "[s] is too long: expected " + what);
        }
        byte[] bytes = base64(text, subject, SEALED);
        if (bytes.length != expected) {
            throw bad(subject, "[s] must be " + what + ", got " + bytes.length + " bytes");
        }
        return bytes;
    }

    /** Integers only (what JSON, CBOR and SMILE parsers give for an integer literal); 1.0 is not a cell id. */
    private static int integer(Object value, String subject, String key) {
        long v;
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            v = ((Number) value).longValue();
        } else if (value instanceof BigInteger big && big.bitLength() < Long.SIZE) {
            v = big.longValue();
        } else if (value instanceof BigInteger) {
            throw bad(subject, "[" + key + "] is out of range");
        } else {
            throw bad(subject, "[" + key + "] must be an integer");
        }
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw bad(subject, "[" + key + "] is out of range");
        }
        return (int) v;
    }

    private static byte[] base64(String text, String subject, String key) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw bad(subject, "[" + key + "] is not valid base64");
        }
    }

    private static IllegalArgumentException bad(String subject, String problem) {
        return new IllegalArgumentException(subject + ": " + problem);
    }

    private static String truncate(String key) {
        return key.length() <= 32 ? key : key.substring(0, 32) + "…";
    }
}
