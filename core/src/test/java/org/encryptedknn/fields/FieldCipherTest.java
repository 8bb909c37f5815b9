package org.encryptedknn.fields;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.junit.Test;

public class FieldCipherTest {

    private static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    @Test
    public void randomizedRoundTripAndBinding() {
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY));
                FieldCipher body = new FieldCipher(k, "body")) {
            String a = body.encrypt("Dear team, the patient in room 4…", "mail/doc-1");
            String b = body.encrypt("Dear team, the patient in room 4…", "mail/doc-1");
            assertNotEquals(a, b);
            assertTrue(FieldCipher.isEncrypted(a));
            assertFalse(a.contains("patient"));
            assertEquals("Dear team, the patient in room 4…", body.decrypt(a, "mail/doc-1"));
            expectFailure(() -> body.decrypt(a, "mail/doc-2"));
            try (FieldCipher other = new FieldCipher(k, "subject")) {
                expectFailure(() -> other.decrypt(a, "mail/doc-1"));
            }
            try (KeyDerivation wrong = new KeyDerivation(MasterKey.generate());
                    FieldCipher w = new FieldCipher(wrong, "body")) {
                expectFailure(() -> w.decrypt(a, "mail/doc-1"));
            }
            expectFailure(() -> body.decrypt("plain text", "mail/doc-1"));
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
