package org.encryptedknn.mapper;

import java.io.IOException;
import java.util.Base64;
import org.encryptedknn.transform.EncryptedVector;
import org.opensearch.core.xcontent.XContentParser;

/**
 * Parses and validates the only value an {@code encrypted_knn_vector} field accepts:
 * {@code {"p":[…],"n":"<b64>","c":17,"z":"<b64>","e":1}}.
 *
 * <p>Every problem is an {@link IllegalArgumentException} whose message names the field and the part. Messages never
 * echo values: a refused value may be a plaintext embedding.
 */
public final class EncryptedVectorParser {

    /** Bytes of the SAP nonce {@code n}. */
    public static final int NONCE_BYTES = 16;

    private EncryptedVectorParser() {}

    /** The message for a plain vector (or anything that is not the encrypted object) sent to an encrypted field. */
    public static String plainVectorMessage(String field) {
        return "field ["
                + field
                + "] of type ["
                + EncryptedKnnVectorFieldMapper.CONTENT_TYPE
                + "] accepts only encrypted vectors {p,n,c,z,e}; encrypt it with the encrypted_knn ingest pipeline or the client library first";
    }

    /**
     * Reads one value starting at the parser's current token and leaves the parser on that value's last token.
     * The caller handles {@code null}.
     */
    public static EncryptedVector parse(XContentParser parser, EncryptedFieldSpec spec) throws IOException {
        XContentParser.Token token = parser.currentToken();
        if (token == XContentParser.Token.START_ARRAY) {
            throw new IllegalArgumentException(plainVectorMessage(spec.field()));
        }
        if (token != XContentParser.Token.START_OBJECT) {
            throw new IllegalArgumentException(plainVectorMessage(spec.field()) + " (got a " + describe(token) + ")");
        }
        float[] p = null;
        byte[] n = null;
        Integer c = null;
        float[] z = null;
        Integer e = null;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token != XContentParser.Token.FIELD_NAME) {
                throw bad(spec, "malformed object");
            }
            String key = parser.currentName();
            parser.nextToken();
            switch (key) {
                case EncryptedVector.PREFIX -> {
                    checkDuplicate(spec, key, p);
                    p = parsePrefix(parser, spec);
                }
                case EncryptedVector.NONCE -> {
                    checkDuplicate(spec, key, n);
                    n = parseNonce(parser, spec);
                }
                case EncryptedVector.CELL -> {
                    checkDuplicate(spec, key, c);
                    c = parseInt(parser, spec, key);
                    if (c < 0 || c >= spec.cells()) {
                        throw bad(spec, "[c] must be a cell id in [0, " + spec.cells() + "), got " + c);
                    }
                }
                case EncryptedVector.KEYED_RESIDUAL -> {
                    checkDuplicate(spec, key, z);
                    z = parseResidual(parser, spec);
                }
                case EncryptedVector.EPOCH -> {
                    checkDuplicate(spec, key, e);
                    e = parseInt(parser, spec, key);
                    if (e < 1) {
                        throw bad(spec, "[e] must be a key epoch >= 1, got " + e);
                    }
                }
                case "vector", "values" -> throw new IllegalArgumentException(plainVectorMessage(spec.field()));
                default ->
                    throw bad(
                            spec,
                            "unknown key [" + truncate(key)
                                    + "]; an encrypted vector has exactly the keys p, n, c, z, e");
            }
        }
        if (p == null) throw bad(spec, "missing [p] (the encrypted prefix)");
        if (n == null) throw bad(spec, "missing [n] (the nonce)");
        if (c == null) throw bad(spec, "missing [c] (the cell id)");
        if (z == null) throw bad(spec, "missing [z] (the keyed residual)");
        if (e == null) throw bad(spec, "missing [e] (the key epoch)");
        return new EncryptedVector(p, n, c, z, e);
    }

    private static float[] parsePrefix(XContentParser parser, EncryptedFieldSpec spec) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw bad(spec, "[p] must be an array of " + spec.prefixDimension() + " numbers (prefix_dimension)");
        }
        float[] values = new float[spec.prefixDimension()];
        int count = 0;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            if (token != XContentParser.Token.VALUE_NUMBER) {
                throw bad(spec, "[p][" + count + "] is not a number");
            }
            if (count >= values.length) {
                parser.skipChildren();
                throw bad(
                        spec,
                        "[p] has more than " + spec.prefixDimension() + " values; prefix_dimension is "
                                + spec.prefixDimension());
            }
            float v = parser.floatValue();
            if (!Float.isFinite(v)) {
                throw bad(spec, "[p][" + count + "] is not a finite float32");
            }
            values[count++] = v;
        }
        if (count != values.length) {
            throw bad(spec, "[p] has " + count + " values but prefix_dimension is " + spec.prefixDimension());
        }
        return values;
    }

    private static byte[] parseNonce(XContentParser parser, EncryptedFieldSpec spec) throws IOException {
        if (parser.currentToken() != XContentParser.Token.VALUE_STRING) {
            throw bad(spec, "[n] must be a base64 string of " + NONCE_BYTES + " bytes");
        }
        String text = parser.text();
        if (text.length() > 64) {
            throw bad(spec, "[n] must be base64 of " + NONCE_BYTES + " bytes, got " + text.length() + " characters");
        }
        byte[] nonce = decodeBase64(text, spec, "n");
        if (nonce.length != NONCE_BYTES) {
            throw bad(spec, "[n] must decode to " + NONCE_BYTES + " bytes, got " + nonce.length);
        }
        return nonce;
    }

    private static float[] parseResidual(XContentParser parser, EncryptedFieldSpec spec) throws IOException {
        int expected = spec.residualDimension();
        if (parser.currentToken() != XContentParser.Token.VALUE_STRING) {
            throw bad(
                    spec,
                    "[z] must be a base64 string of " + expected
                            + " little-endian float32 values (dimension - prefix_dimension)");
        }
        String text = parser.text();
        long maxChars = 4L * ((expected * 4L + 2) / 3) + 4;
        if (text.length() > maxChars) {
            throw bad(
                    spec,
                    "[z] is too long: expected base64 of " + expected
                            + " float32 values (dimension - prefix_dimension)");
        }
        byte[] bytes = decodeBase64(text, spec, "z");
        if (bytes.length != expected * Float.BYTES) {
            throw bad(
                    spec,
                    "[z] must decode to "
                            + expected
                            + " float32 values ("
                            + (expected * Float.BYTES)
                            + " bytes = 4 x (dimension "
                            + spec.dimension()
                            + " - prefix_dimension "
                            + spec.prefixDimension()
                            + ")), got "
                            + bytes.length
                            + " bytes");
        }
        float[] z = ResidualDocValues.floatsLittleEndian(bytes);
        for (int i = 0; i < z.length; i++) {
            if (!Float.isFinite(z[i])) {
                throw bad(spec, "[z][" + i + "] is not a finite float32");
            }
        }
        return z;
    }

    private static int parseInt(XContentParser parser, EncryptedFieldSpec spec, String key) throws IOException {
        if (parser.currentToken() != XContentParser.Token.VALUE_NUMBER) {
            throw bad(spec, "[" + key + "] must be an integer");
        }
        XContentParser.NumberType type = parser.numberType();
        if (type != XContentParser.NumberType.INT && type != XContentParser.NumberType.LONG) {
            throw bad(spec, "[" + key + "] must be an integer");
        }
        long value = parser.longValue();
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw bad(spec, "[" + key + "] is out of range");
        }
        return (int) value;
    }

    static byte[] decodeBase64(String text, EncryptedFieldSpec spec, String key) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw bad(spec, "[" + key + "] is not valid base64");
        }
    }

    private static void checkDuplicate(EncryptedFieldSpec spec, String key, Object previous) {
        if (previous != null) {
            throw bad(spec, "duplicate key [" + key + "]");
        }
    }

    private static IllegalArgumentException bad(EncryptedFieldSpec spec, String problem) {
        return new IllegalArgumentException(spec.describe() + ": " + problem);
    }

    private static String describe(XContentParser.Token token) {
        return switch (token) {
            case VALUE_STRING -> "string";
            case VALUE_NUMBER -> "number";
            case VALUE_BOOLEAN -> "boolean";
            case VALUE_EMBEDDED_OBJECT -> "binary value";
            default -> String.valueOf(token).toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static String truncate(String key) {
        return key.length() <= 32 ? key : key.substring(0, 32) + "…";
    }
}
