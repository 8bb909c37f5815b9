package org.encryptedknn.mapper;

import java.io.IOException;
import java.util.Map;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.opensearch.core.xcontent.XContentParser;

/**
 * Parses and validates the only values an {@code encrypted_knn_vector} field accepts:
 * {@code {"p":[…],"n":"<b64>","c":17,"z":"<b64>","e":1}} (keyed) and {@code {"p":[…],"n":"<b64>","s":"<b64>","e":1}}
 * (sealed).
 *
 * <p>Every problem is an {@link IllegalArgumentException} whose message names the field and the part. Messages never
 * echo values: a refused value may be a plaintext embedding.
 */
public final class EncryptedVectorParser {

    private EncryptedVectorParser() {}

    /** The message for a plain vector (or anything that is not the encrypted object) sent to an encrypted field. */
    public static String plainVectorMessage(String field) {
        return "field ["
                + field
                + "] of type ["
                + EncryptedKnnVectorFieldMapper.CONTENT_TYPE
                + "] accepts only encrypted vectors {p,n,c,z,e} or {p,n,s,e}; encrypt it with the encrypted_knn ingest pipeline or the client library first";
    }

    /**
     * Reads one value starting at the parser's current token and leaves the parser on that value's last token.
     * The caller handles {@code null}. The record's rules are {@link RecordFormat}'s, the same the gateway and the
     * client apply.
     */
    public static EncryptedVector parse(XContentParser parser, EncryptedFieldSpec spec) throws IOException {
        XContentParser.Token token = parser.currentToken();
        if (token == XContentParser.Token.START_ARRAY) {
            throw new IllegalArgumentException(plainVectorMessage(spec.field()));
        }
        if (token != XContentParser.Token.START_OBJECT) {
            throw new IllegalArgumentException(plainVectorMessage(spec.field()) + " (got a " + describe(token) + ")");
        }
        Map<String, Object> value = parser.map();
        if (value.containsKey("vector") || value.containsKey("values")) {
            throw new IllegalArgumentException(plainVectorMessage(spec.field()));
        }
        EncryptedVector record = RecordFormat.fromMap(
                value,
                spec.describe(),
                new RecordFormat.Shape(spec.dimension(), spec.prefixWidth(), spec.residualDimension(), spec.cells())
                        .withPaddingOptional());
        checkResidualNorm(record, spec);
        return record;
    }

    /** Relative slack on ‖z‖ for float32 rounding of the key holder's products (measured ≤ 1e-6). */
    static final double NORM_TOLERANCE = 1e-3;

    /**
     * The bound on z that the format gives: z = H_c·[r; t] with H_c orthogonal and t chosen so that ‖z‖ = T, the
     * model's {@code residual_norm} (record residual v2); an unpadded record (z = H_c·r, models fitted before padding)
     * has ‖z‖ = ‖r‖ ≤ T. A record outside it was not written by a key holder of this model (a client bug or a hostile
     * writer) and would break whatever scores it (CKKS packs components of at most 2), so it is refused here, whole.
     */
    static void checkResidualNorm(EncryptedVector record, EncryptedFieldSpec spec) {
        if (record.isSealed()) {
            return; // s has no norm to check: its tag is checked where it is opened, by the key holder
        }
        float[] z = record.keyedResidual();
        double norm2 = 0;
        for (float f : z) {
            norm2 += (double) f * f;
        }
        double norm = Math.sqrt(norm2);
        double t = spec.residualNorm();
        boolean padded = z.length == spec.residualDimension() + 1;
        boolean fits = padded ? Math.abs(norm - t) <= NORM_TOLERANCE * t : norm <= t * (1 + NORM_TOLERANCE);
        if (!fits) { // the message names the rule, never the value (which may be a plaintext)
            throw new IllegalArgumentException(spec.describe() + ": [z] is out of range: "
                    + (padded
                            ? "a padded record's z must have norm residual_norm = " + t
                            : "an unpadded record's z must have norm at most residual_norm = " + t)
                    + " (the mapping's [residual_norm], which must be the model's)");
        }
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
}
