package org.encryptedknn.fields;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.encryptedknn.keys.AesGcm;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.junit.Test;

public class FieldCipherTest {

    private static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    @Test
    public void randomizedRoundTripAndBinding() {
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY));
                FieldCipher body = new FieldCipher(k, "body")) {
            String a = body.encrypt("Dear team, the patient in room 4…", "mail", "doc-1");
            String b = body.encrypt("Dear team, the patient in room 4…", "mail", "doc-1");
            assertNotEquals(a, b);
            assertTrue(FieldCipher.isEncrypted(a));
            assertTrue(a.startsWith(FieldCipher.RANDOMIZED_PREFIX));
            assertFalse(a.contains("patient"));
            assertEquals("Dear team, the patient in room 4…", body.decrypt(a, "mail", "doc-1"));
            expectFailure(() -> body.decrypt(a, "mail", "doc-2")); // moved to another document of the index
            expectFailure(() -> body.decrypt(a, "mail-copy", "doc-1")); // moved to another index
            try (FieldCipher other = new FieldCipher(k, "subject")) {
                expectFailure(() -> other.decrypt(a, "mail", "doc-1"));
            }
            try (KeyDerivation wrong = new KeyDerivation(MasterKey.generate());
                    FieldCipher w = new FieldCipher(wrong, "body")) {
                expectFailure(() -> w.decrypt(a, "mail", "doc-1"));
            }
            expectFailure(() -> body.decrypt("plain text", "mail", "doc-1"));
            // length-prefixed associated data: ("ab", "c") is not ("a", "bc")
            String split = body.encrypt("x", "ab", "c");
            expectFailure(() -> body.decrypt(split, "a", "bc"));
        }
    }

    /** Values written before the _id was bound (ekr1:, AAD domain ‖ 0 ‖ field ‖ 0 ‖ index) still decrypt. */
    @Test
    public void version1ValuesStillDecrypt() throws Exception {
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY));
                FieldCipher body = new FieldCipher(k, "body")) {
            byte[] aad = "encrypted-knn/field/v1\0body\0mail".getBytes(StandardCharsets.UTF_8);
            String v1;
            try (AesGcm gcm = new AesGcm(k.fieldAeadKey("body"))) {
                v1 = FieldCipher.RANDOMIZED_PREFIX_V1
                        + Base64.getEncoder()
                                .encodeToString(gcm.seal("old text".getBytes(StandardCharsets.UTF_8), aad));
            }
            assertTrue(FieldCipher.isRandomized(v1));
            assertEquals("old text", body.decrypt(v1, "mail", "any-id"));
            expectFailure(() -> body.decrypt(v1, "other-index", "any-id"));
        }
    }

    @Test
    public void closedCipherRefusesInsteadOfUsingZeroedKeys() {
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY))) {
            FieldCipher body = new FieldCipher(k, "body");
            String a = body.encrypt("text", "mail", "doc-1");
            String d = body.encryptDeterministic("alice");
            body.close();
            assertThrows(IllegalStateException.class, () -> body.decrypt(a, "mail", "doc-1"));
            assertThrows(IllegalStateException.class, () -> body.encryptDeterministic("alice"));
            assertThrows(IllegalStateException.class, () -> body.decryptDeterministic(d));
        }
    }

    @Test
    public void deterministicEqualityAndRoundTrip() {
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY));
                FieldCipher sender = new FieldCipher(k, "sender");
                FieldCipher other = new FieldCipher(k, "recipient")) {
            String a = sender.encryptDeterministic("alice@example.org");
            assertEquals(a, sender.encryptDeterministic("alice@example.org"));
            assertNotEquals(a, sender.encryptDeterministic("bob@example.org"));
            assertNotEquals(a, other.encryptDeterministic("alice@example.org"));
            assertEquals("alice@example.org", sender.decryptDeterministic(a));
            expectFailure(() -> other.decryptDeterministic(a));
            assertEquals("", sender.decryptDeterministic(sender.encryptDeterministic("")));
            String longValue = "x".repeat(1000);
            assertEquals(longValue, sender.decryptDeterministic(sender.encryptDeterministic(longValue)));
        }
    }

    private static void expectFailure(Runnable r) {
        try {
            r.run();
            fail("expected a failure");
        } catch (IllegalArgumentException expected) {
            // ok
        }
    }
}
