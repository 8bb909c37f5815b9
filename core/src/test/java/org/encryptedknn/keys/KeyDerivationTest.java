package org.encryptedknn.keys;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.Test;

public class KeyDerivationTest {

    static final String KEY_B64 = Base64.getEncoder()
            .encodeToString(
                    HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));

    @Test
    public void sameInputsSameKeys() {
        try (KeyDerivation a = new KeyDerivation(MasterKey.fromBase64(KEY_B64));
                KeyDerivation b = new KeyDerivation(MasterKey.fromBase64(" " + KEY_B64 + "\n"))) {
            assertArrayEquals(a.sapPrfKey("m1", null, 1), b.sapPrfKey("m1", null, 1));
            assertArrayEquals(a.cellKeySeed("m1", null, 3, 17), b.cellKeySeed("m1", null, 3, 17));
            assertArrayEquals(a.fieldSivKey("sender"), b.fieldSivKey("sender"));
            assertEquals(a.sapScale("m1", null, 1), b.sapScale("m1", null, 1), 0);
        }
    }

    @Test
    public void pinnedV1Output() {
        // Pins the documented v1 format (docs/key-derivation.md): changing it breaks every stored index.
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY_B64))) {
            byte[] prk = Hkdf.extract(
                    KeyDerivation.SALT.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
            byte[] info = new byte[0];
            info = concat(
                    "encrypted-knn/v1/cell-key".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    new byte[] {0, 0, 0, 2, 'm', '1'},
                    new byte[] {0, 0, 0, 4, 0, 0, 0, 1},
                    new byte[] {0, 0, 0, 4, 0, 0, 0, 5});
            assertArrayEquals(Hkdf.expand(prk, info, 32), k.cellKeySeed("m1", null, 1, 5));
        }
    }

    @Test
    public void pinnedV2OutputBindsTheModelSalt() {
        // v2 (docs/key-derivation.md): label encrypted-knn/v2/…, context model id ‖ key salt ‖ epoch ‖ cell
        byte[] salt = new byte[KeyDerivation.MODEL_SALT_LENGTH];
        java.util.Arrays.fill(salt, (byte) 0x5a);
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY_B64))) {
            byte[] prk = Hkdf.extract(
                    KeyDerivation.SALT.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
            byte[] info = concat(
                    "encrypted-knn/v2/cell-key".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    new byte[] {0, 0, 0, 2, 'm', '1'},
                    new byte[] {0, 0, 0, 32},
                    salt,
                    new byte[] {0, 0, 0, 4, 0, 0, 0, 1},
                    new byte[] {0, 0, 0, 4, 0, 0, 0, 5});
            assertArrayEquals(Hkdf.expand(prk, info, 32), k.cellKeySeed("m1", salt, 1, 5));
            byte[] other = salt.clone();
            other[0] ^= 1;
            assertFalse(java.util.Arrays.equals(k.cellKeySeed("m1", salt, 1, 5), k.cellKeySeed("m1", other, 1, 5)));
            assertFalse(java.util.Arrays.equals(k.sapNonceKey("m1", salt), k.sapNonceKey("m1", null)));
        }
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    @Test
    public void labelsAndContextsSeparate() {
        try (KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY_B64))) {
            List<byte[]> keys = new ArrayList<>();
            keys.add(k.sapPrfKey("m1", null, 1));
            keys.add(k.sapPrfKey("m1", null, 2));
            keys.add(k.sapPrfKey("m2", null, 1));
            keys.add(k.sapNonceKey("m1", null));
            keys.add(k.prefixRotationSeed("m1", null, 1));
            keys.add(k.prefixRotationSeed("m1", null, 2));
            keys.add(k.cellKeySeed("m1", null, 1, 0));
            keys.add(k.cellKeySeed("m1", null, 1, 1));
            keys.add(k.cellKeySeed("m1", null, 2, 0));
            keys.add(k.cellKeySeed("m2", null, 1, 0));
            keys.add(k.fieldAeadKey("body"));
            keys.add(k.fieldAeadKey("subject"));
            keys.add(Arrays.copyOf(k.fieldSivKey("body"), 32));
            keys.add(k.modelSealKey());
            keys.add(k.sealedRecordKey("m1", null, 1));
            keys.add(k.sealedRecordKey("m1", null, 2));
            keys.add(k.sealedRecordKey("m2", null, 1));
            byte[] salt = new byte[KeyDerivation.MODEL_SALT_LENGTH];
            keys.add(k.sealedRecordKey("m1", salt, 1)); // a model's key salt changes every key of it
            // "m1" + epoch 1 must not collide with "m" + something: length prefixes
            keys.add(k.derive(KeyDerivation.CELL_KEY, 32, "m", 1, 1));
            Set<String> distinct = new HashSet<>();
            for (byte[] key : keys) {
                assertEquals(32, key.length);
                distinct.add(HexFormat.of().formatHex(key));
            }
            assertEquals(keys.size(), distinct.size());
            double s1 = k.sapScale("m1", null, 1);
            double s2 = k.sapScale("m1", null, 2);
            assertTrue(s1 >= 1 && s1 < 2);
            assertTrue(s2 >= 1 && s2 < 2);
            assertTrue(s1 != s2);
        }
    }

    @Test
    public void differentMasterKeysDiffer() {
        try (KeyDerivation a = new KeyDerivation(MasterKey.fromBase64(KEY_B64));
                KeyDerivation b = new KeyDerivation(MasterKey.generate())) {
            assertFalse(Arrays.equals(a.modelSealKey(), b.modelSealKey()));
        }
    }

    @Test
    public void masterKeyNeverPrintedAndDestroyable() {
        MasterKey key = MasterKey.fromBase64(KEY_B64);
        assertFalse(key.toString().contains(KEY_B64));
        assertFalse(key.toString().contains("000102"));
        byte[] copy = key.bytes();
        assertEquals(32, copy.length);
        key.destroy();
        assertTrue(key.isDestroyed());
        try {
            key.bytes();
            fail("destroyed key must not be usable");
        } catch (IllegalStateException expected) {
            // ok
        }
    }

    @Test
    public void rejectsBadMasterKeys() {
        for (String bad : new String[] {"not base64!!", Base64.getEncoder().encodeToString(new byte[16])}) {
            try {
                MasterKey.fromBase64(bad);
                fail("accepted " + bad);
            } catch (IllegalArgumentException e) {
                assertFalse(e.getMessage().contains(bad));
            }
        }
    }

    @Test
    public void closedDerivationRefuses() {
        KeyDerivation k = new KeyDerivation(MasterKey.fromBase64(KEY_B64));
        k.close();
        try {
            k.modelSealKey();
            fail();
        } catch (IllegalStateException expected) {
            // ok
        }
    }
}
