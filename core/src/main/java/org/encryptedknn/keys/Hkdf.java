package org.encryptedknn.keys;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** HKDF with HMAC-SHA256 (RFC 5869), on the JDK's HmacSHA256. */
public final class Hkdf {

    /** Output length of SHA-256 in bytes. */
    public static final int HASH_LEN = 32;

    private Hkdf() {}

    /** HKDF-Extract(salt, ikm) → PRK (32 bytes). An empty or null salt means 32 zero bytes, as in the RFC. */
    public static byte[] extract(byte[] salt, byte[] ikm) {
        byte[] s = (salt == null || salt.length == 0) ? new byte[HASH_LEN] : salt;
        Mac mac = hmac(s);
        return mac.doFinal(ikm);
    }

    /** HKDF-Expand(prk, info, length), length ≤ 255·32. */
    public static byte[] expand(byte[] prk, byte[] info, int length) {
        if (length < 0 || length > 255 * HASH_LEN) {
            throw new IllegalArgumentException("HKDF output length must be in [0, 8160], got " + length);
        }
        if (prk.length < HASH_LEN) {
            throw new IllegalArgumentException("PRK must be at least " + HASH_LEN + " bytes");
        }
        Mac mac = hmac(prk);
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        int pos = 0;
        for (int i = 1; pos < length; i++) {
            mac.update(t);
            if (info != null) {
                mac.update(info);
            }
            mac.update((byte) i);
            byte[] next = mac.doFinal();
            Arrays.fill(t, (byte) 0);
            t = next;
            int n = Math.min(HASH_LEN, length - pos);
            System.arraycopy(t, 0, out, pos, n);
            pos += n;
        }
        Arrays.fill(t, (byte) 0);
        return out;
    }

    /** Extract then expand. */
    public static byte[] derive(byte[] salt, byte[] ikm, byte[] info, int length) {
        byte[] prk = extract(salt, ikm);
        try {
            return expand(prk, info, length);
        } finally {
            Arrays.fill(prk, (byte) 0);
        }
    }

    static Mac hmac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
