package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The record's document form: round trip, and every rule with a message naming the field and the part. */
public class RecordFormatTest {

    static final RecordFormat.Shape SHAPE = new RecordFormat.Shape(5, 2, 3, 4);
    static final String SUBJECT = "field [embedding]";

    static EncryptedVector sample() {
        byte[] nonce = new byte[16];
        nonce[3] = 7;
        return new EncryptedVector(new float[] {1.5f, -2f}, nonce, 3, new float[] {0.5f, 1.5f, -2.5f}, 2);
    }

    static Map<String, Object> valid() {
        return RecordFormat.toMap(sample());
    }

    static void expect(Map<String, Object> record, String fragment) {
        expect(record, SHAPE, fragment);
    }

    static void expect(Object record, RecordFormat.Shape shape, String fragment) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> RecordFormat.fromMap(record, SUBJECT, shape));
        assertTrue(e.getMessage(), e.getMessage().startsWith(SUBJECT + ": "));
        assertTrue(
                "[" + e.getMessage() + "] should contain [" + fragment + "]",
                e.getMessage().contains(fragment));
    }

    static Map<String, Object> with(String key, Object value) {
        Map<String, Object> m = valid();
        if (value == null) {
            m.remove(key);
        } else {
            m.put(key, value);
        }
        return m;
    }

    @Test
    public void roundTripsInKeyOrder() {
        Map<String, Object> m = valid();
        assertEquals(List.of("p", "n", "c", "z", "e"), new ArrayList<>(m.keySet()));
        assertEquals(sample(), RecordFormat.fromMap(m, SUBJECT, SHAPE));
        assertTrue(RecordFormat.looksLikeRecord(m));
        assertFalse(RecordFormat.looksLikeRecord(List.of(1.0, 2.0)));
    }

    @Test
    public void readsWhatJsonParsersGive() {
        // Jackson and XContent give doubles for decimals and Integer/Long/BigInteger for integers
        Map<String, Object> m = new LinkedHashMap<>(valid());
        m.put("p", List.of(1.5d, -2L));
        m.put("c", 3L);
        m.put("e", BigInteger.valueOf(2));
        assertEquals(sample(), RecordFormat.fromMap(m, SUBJECT, SHAPE));
    }

    @Test
    public void refusesBadParts() {
        expect(with("p", List.of(1.0)), "[p] has 1 values but the prefix width is 2");
        expect(with("p", List.of(1.0, 2.0, 3.0)), "[p] has 3 values but the prefix width is 2");
        expect(with("p", List.of(1.0, "x")), "[p][1] is not a number");
        expect(with("p", List.of(1.0, 1e39)), "[p][1] is not a finite float32");
        expect(with("p", "x"), "[p] must be an array of 2 numbers");
        expect(with("n", "!!"), "[n] is not valid base64");
        expect(with("n", Base64.getEncoder().encodeToString(new byte[12])), "[n] must decode to 16 bytes, got 12");
        expect(with("n", 5), "[n] must be a base64 string");
        expect(with("c", 4), "[c] must be a cell id in [0, 4), got 4");
        expect(with("c", -1), "[c] must be a cell id in [0, 4), got -1");
        expect(with("c", 1.5), "[c] must be an integer");
        expect(with("c", 1L << 40), "[c] is out of range");
        expect(with("z", EncryptedVector.encodeFloats(new float[2])), "[z] must decode to 3 float32 values");
        expect(with("z", "%%%"), "[z] is not valid base64");
        expect(with("z", EncryptedVector.encodeFloats(new float[] {1, Float.NaN, 2})), "[z][1] is not a finite");
        expect(with("z", "A".repeat(100)), "[z] is too long");
        expect(with("e", 0), "[e] must be a key epoch >= 1, got 0");
        expect(with("e", "1"), "[e] must be an integer");
    }

    @Test
    public void refusesMissingAndUnknownKeys() {
        for (String key : List.of("p", "n", "c", "z", "e")) {
            expect(with(key, null), "missing [" + key + "]");
        }
        expect(with("x", 1), "unknown key [x]");
        expect(List.of(1.0, 2.0), SHAPE, "must be an encrypted vector object {p,n,c,z,e} or {p,n,s,e}");
    }

    @Test
    public void residualMayBeAbsentWhenTheShapeSaysSo() {
        EncryptedVector v = RecordFormat.fromMap(with("z", null), SUBJECT, SHAPE.residualOptional());
        assertArrayEquals(new float[3], v.keyedResidual(), 0f);
        expect(with("z", "%%%"), SHAPE.residualOptional(), "[z] is not valid base64");
    }

    @Test
    public void messagesNeverEchoValues() {
        String secret = "0.123456789";
        Map<String, Object> m = with("p", List.of(Double.parseDouble(secret), "x"));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> RecordFormat.fromMap(m, SUBJECT, SHAPE));
        assertFalse(e.getMessage().contains(secret));
        IllegalArgumentException unknown = assertThrows(
                IllegalArgumentException.class, () -> RecordFormat.fromMap(with("x".repeat(100), 1), SUBJECT, SHAPE));
        assertFalse(unknown.getMessage().contains("x".repeat(40)));
    }
}
