package org.encryptedknn.mapper;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.Base64;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.transform.EncryptedVector;
import org.junit.Test;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.XContentParser;

/** Plain JUnit (runs as root): the value parser of encrypted_knn_vector. */
public class EncryptedVectorParserTest {

    /** residual_norm 10: the z of {@link #valid()} has norm 8.5 (its components are 0.5 … 5.5). */
    static final EncryptedFieldSpec SPEC =
            new EncryptedFieldSpec("embedding", "m1", 8, 2, 4, 16, 100, 10, PrefixLayout.PLAIN);

    static EncryptedVector parse(String json) throws IOException {
        return parse(json, SPEC);
    }

    static EncryptedVector parse(String json, EncryptedFieldSpec spec) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(
                NamedXContentRegistry.EMPTY, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json)) {
            parser.nextToken();
            return EncryptedVectorParser.parse(parser, spec);
        }
    }

    /**
     * The bound follows from the format: a padded z (d − d_pub + 1 values) has norm exactly residual_norm T, an unpadded
     * one at most T. A record of a cosine model (T = 1) with one component of 3 is refused naming [z], not its value.
     */
    @Test
    public void residualOutsideTheModelsNormIsRefused() throws IOException {
        EncryptedFieldSpec cosine =
                new EncryptedFieldSpec("embedding", "m1", 8, 2, 4, 16, 100, 1.0, PrefixLayout.PLAIN);
        float[] unit = {0.6f, 0, 0, 0.8f, 0, 0, 0}; // padded (7 values), norm 1
        assertEquals(7, parse(record(unit), cosine).keyedResidual().length);
        float[] shorter = {0.6f, 0, 0, 0, 0, 0}; // unpadded, norm 0.6 <= 1
        assertEquals(6, parse(record(shorter), cosine).keyedResidual().length);

        float[] wide = {0.6f, 0, 3f, 0, 0, 0};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(record(wide), cosine));
        assertEquals(
                "field [embedding] of type [encrypted_knn_vector]: [z] is out of range: an unpadded record's z must"
                        + " have norm at most residual_norm = 1.0 (the mapping's [residual_norm], which must be the"
                        + " model's)",
                e.getMessage());
        float[] paddedShort = {0.6f, 0, 0, 0, 0, 0, 0}; // padded, norm 0.6: not T
        e = assertThrows(IllegalArgumentException.class, () -> parse(record(paddedShort), cosine));
        assertTrue(e.getMessage(), e.getMessage().contains("a padded record's z must have norm residual_norm = 1.0"));
        // the same wide record under an inner-product model whose T is 4
        assertEquals(
                3f,
                parse(record(wide), new EncryptedFieldSpec("embedding", "m1", 8, 2, 4, 16, 100, 4, PrefixLayout.PLAIN))
                        .keyedResidual()[2],
                0f);
    }

    private static String record(float[] z) {
        return doc("[1.5,-2]", "\"" + N + "\"", "3", "\"" + EncryptedVector.encodeFloats(z) + "\"", "1");
    }

    static String z(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i + 0.5f;
        return EncryptedVector.encodeFloats(v);
    }

    static final String N = Base64.getEncoder().encodeToString(new byte[16]);

    static String doc(String p, String n, String c, String z, String e) {
        StringBuilder sb = new StringBuilder("{");
        if (p != null) sb.append("\"p\":").append(p).append(',');
        if (n != null) sb.append("\"n\":").append(n).append(',');
        if (c != null) sb.append("\"c\":").append(c).append(',');
        if (z != null) sb.append("\"z\":").append(z).append(',');
        if (e != null) sb.append("\"e\":").append(e).append(',');
        if (sb.charAt(sb.length() - 1) == ',') sb.setLength(sb.length() - 1);
        return sb.append('}').toString();
    }

    static String valid() {
        return doc("[1.5,-2]", "\"" + N + "\"", "3", "\"" + z(6) + "\"", "1");
    }

    static void expect(String json, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        for (String f : fragments) {
            assertTrue(
                    "message [" + e.getMessage() + "] should contain [" + f + "]",
                    e.getMessage().contains(f));
        }
    }

    @Test
    public void parsesValid() throws IOException {
        EncryptedVector v = parse(valid());
        assertArrayEquals(new float[] {1.5f, -2f}, v.prefix(), 0f);
        assertEquals(3, v.cell());
        assertEquals(1, v.epoch());
        assertEquals(16, v.nonce().length);
        assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f}, v.keyedResidual(), 0f);
    }

    @Test
    public void refusesPlainVectors() {
        String msg =
                "field [embedding] of type [encrypted_knn_vector] accepts only encrypted vectors {p,n,c,z,e} or {p,n,s,e}; "
                        + "encrypt it with the encrypted_knn ingest pipeline or the client library first";
        expect("[0.1,0.2,0.3]", msg);
        expect("{\"vector\":[0.1,0.2]}", msg);
        expect("\"abc\"", msg, "string");
        expect("42", msg, "number");
    }

    @Test
    public void refusesBadPrefix() {
        expect(
                doc("[1]", "\"" + N + "\"", "0", "\"" + z(6) + "\"", "1"),
                "[embedding]",
                "[p] has 1 values but the prefix width is 2");
        expect(
                doc("[1,2,3]", "\"" + N + "\"", "0", "\"" + z(6) + "\"", "1"),
                "[p] has 3 values but the prefix width is 2");
        expect(doc("[1,\"x\"]", "\"" + N + "\"", "0", "\"" + z(6) + "\"", "1"), "[p][1] is not a number");
        expect(doc("[1,1e39]", "\"" + N + "\"", "0", "\"" + z(6) + "\"", "1"), "[p][1] is not a finite float32");
        expect(doc("\"x\"", "\"" + N + "\"", "0", "\"" + z(6) + "\"", "1"), "[p] must be an array");
    }

    @Test
    public void refusesBadNonce() {
        expect(doc("[1,2]", "\"!!\"", "0", "\"" + z(6) + "\"", "1"), "[n] is not valid base64");
        expect(
                doc(
                        "[1,2]",
                        "\"" + Base64.getEncoder().encodeToString(new byte[12]) + "\"",
                        "0",
                        "\"" + z(6) + "\"",
                        "1"),
                "[n] must decode to 16 bytes, got 12");
        expect(doc("[1,2]", "5", "0", "\"" + z(6) + "\"", "1"), "[n] must be a base64 string");
    }

    @Test
    public void refusesBadCell() {
        expect(doc("[1,2]", "\"" + N + "\"", "4", "\"" + z(6) + "\"", "1"), "[c] must be a cell id in [0, 4), got 4");
        expect(doc("[1,2]", "\"" + N + "\"", "-1", "\"" + z(6) + "\"", "1"), "[c] must be a cell id in [0, 4), got -1");
        expect(doc("[1,2]", "\"" + N + "\"", "1.5", "\"" + z(6) + "\"", "1"), "[c] must be an integer");
    }

    @Test
    public void refusesBadResidual() {
        expect(
                doc("[1,2]", "\"" + N + "\"", "0", "\"" + z(5) + "\"", "1"),
                "[z] must decode to 6 or 7 (padded) float32 values",
                "got 20 bytes");
        expect( // one past the padded length
                doc("[1,2]", "\"" + N + "\"", "0", "\"" + z(8) + "\"", "1"),
                "[z] must decode to 6 or 7 (padded) float32 values",
                "got 32 bytes");
        expect(doc("[1,2]", "\"" + N + "\"", "0", "\"%%%\"", "1"), "[z] is not valid base64");
        float[] bad = {1, 2, Float.NaN, 4, 5, 6};
        expect(
                doc("[1,2]", "\"" + N + "\"", "0", "\"" + EncryptedVector.encodeFloats(bad) + "\"", "1"),
                "[z][2] is not a finite float32");
    }

    @Test
    public void refusesBadEpoch() {
        expect(doc("[1,2]", "\"" + N + "\"", "0", "\"" + z(6) + "\"", "0"), "[e] must be a key epoch >= 1, got 0");
        expect(doc("[1,2]", "\"" + N + "\"", "0", "\"" + z(6) + "\"", "\"1\""), "[e] must be an integer");
    }

    @Test
    public void refusesMissingAndUnknownKeys() {
        expect(doc(null, "\"" + N + "\"", "0", "\"" + z(6) + "\"", "1"), "missing [p]");
        expect(doc("[1,2]", null, "0", "\"" + z(6) + "\"", "1"), "missing [n]");
        expect(doc("[1,2]", "\"" + N + "\"", null, "\"" + z(6) + "\"", "1"), "missing [c]");
        expect(doc("[1,2]", "\"" + N + "\"", "0", null, "1"), "missing [z]");
        expect(doc("[1,2]", "\"" + N + "\"", "0", "\"" + z(6) + "\"", null), "missing [e]");
        expect("{\"p\":[1,2],\"x\":1}", "unknown key [x]");
    }

    @Test
    public void messagesNeverEchoValues() {
        String secret = "0.123456789";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("[" + secret + ",0.5]"));
        assertTrue(!e.getMessage().contains(secret));
    }

    @Test
    public void refusesDuplicateKeysWithoutEchoingThem() {
        String secret = "0.987654321";
        String json =
                "{\"p\":[" + secret + ",1],\"p\":[1,2],\"n\":\"" + N + "\",\"c\":0,\"z\":\"" + z(6) + "\",\"e\":1}";
        Exception e = assertThrows(Exception.class, () -> parse(json)); // the parser's strict duplicate detection
        assertTrue(e.getMessage(), e.getMessage().contains("Duplicate field 'p'"));
        assertTrue(!e.getMessage().contains(secret));
    }
}
