package org.encryptedknn.fields;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import org.encryptedknn.keys.ZeroizableKey;

/**
 * AES-SIV (RFC 5297): deterministic authenticated encryption. Key = K1 ‖ K2 (32 bytes → AES-128,
 * 64 bytes → AES-256); S2V over the associated data and the plaintext with AES-CMAC (RFC 4493) under K1
 * gives the synthetic IV V, and the plaintext is encrypted with AES-CTR under K2 from V with bits 31 and 63
 * cleared. Output V ‖ C. Same key, associated data and plaintext → same ciphertext: equality leaks by design.
 * Instances are not thread-safe (they hold ciphers); create one per thread or synchronize.
 */
public final class AesSiv {

    private static final byte[] ZERO = new byte[16];
    private final Cipher ecb;
    private final Cipher ctr;
    private final ZeroizableKey ctrKey;
    private final byte[] k1 = new byte[16];
    private final byte[] k2 = new byte[16];

    public AesSiv(byte[] key) {
        if (key.length != 32 && key.length != 64) {
            throw new IllegalArgumentException("AES-SIV key must be 32 or 64 bytes, got " + key.length);
        }
        int half = key.length / 2;
        try {
            ecb = Cipher.getInstance("AES/ECB/NoPadding");
            ZeroizableKey macKey = new ZeroizableKey(key, 0, half, "AES");
            ecb.init(Cipher.ENCRYPT_MODE, macKey);
            macKey.destroy();
            ctr = Cipher.getInstance("AES/CTR/NoPadding");
            ctrKey = new ZeroizableKey(key, half, half, "AES");
            byte[] l = ecb.doFinal(ZERO);
            dbl(l, k1);
            dbl(k1, k2);
            Arrays.fill(l, (byte) 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES unavailable", e);
        }
    }

    /** V ‖ C. */
    public byte[] encrypt(byte[] plaintext, byte[]... associatedData) {
        byte[] v = s2v(plaintext, associatedData);
        byte[] out = Arrays.copyOf(v, 16 + plaintext.length);
        byte[] c = ctr(v, plaintext);
        System.arraycopy(c, 0, out, 16, c.length);
        return out;
    }

    public byte[] decrypt(byte[] ciphertext, byte[]... associatedData) throws AEADBadTagException {
        if (ciphertext.length < 16) {
            throw new AEADBadTagException("AES-SIV ciphertext shorter than its 16-byte tag");
        }
        byte[] v = Arrays.copyOf(ciphertext, 16);
        byte[] p = ctr(v, Arrays.copyOfRange(ciphertext, 16, ciphertext.length));
        byte[] t = s2v(p, associatedData);
        if (!MessageDigest.isEqual(t, v)) {
            Arrays.fill(p, (byte) 0);
            throw new AEADBadTagException("AES-SIV authentication failed");
        }
        return p;
    }

    /** AES-CMAC (RFC 4493) under K1. */
    public byte[] cmac(byte[] message) {
        int n = Math.max(1, (message.length + 15) / 16);
        boolean complete = message.length > 0 && message.length % 16 == 0;
        byte[] x = new byte[16];
        byte[] block = new byte[16];
        try {
            for (int i = 0; i < n - 1; i++) {
                for (int j = 0; j < 16; j++) {
                    block[j] = (byte) (x[j] ^ message[i * 16 + j]);
                }
                x = ecb.doFinal(block);
            }
            int off = (n - 1) * 16;
            byte[] last = new byte[16];
            int rem = message.length - off;
            System.arraycopy(message, off, last, 0, rem);
            if (complete) {
                xorInto(last, k1);
            } else {
                last[rem] = (byte) 0x80;
                xorInto(last, k2);
            }
            for (int j = 0; j < 16; j++) {
                block[j] = (byte) (x[j] ^ last[j]);
            }
            return ecb.doFinal(block);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private byte[] s2v(byte[] plaintext, byte[][] ad) {
        byte[] d = cmac(ZERO);
        byte[] tmp = new byte[16];
        for (byte[] s : ad) {
            dbl(d, tmp);
            byte[] m = cmac(s);
            for (int j = 0; j < 16; j++) {
                d[j] = (byte) (tmp[j] ^ m[j]);
            }
        }
        byte[] t;
        if (plaintext.length >= 16) {
            t = plaintext.clone();
            int off = t.length - 16;
            for (int j = 0; j < 16; j++) {
                t[off + j] ^= d[j];
            }
        } else {
            dbl(d, tmp);
            t = new byte[16];
            System.arraycopy(plaintext, 0, t, 0, plaintext.length);
            t[plaintext.length] = (byte) 0x80;
            xorInto(t, tmp);
        }
        byte[] v = cmac(t);
        Arrays.fill(t, (byte) 0);
        return v;
    }

    private byte[] ctr(byte[] v, byte[] input) {
        byte[] q = v.clone();
        q[8] &= 0x7f;
        q[12] &= 0x7f;
        try {
            ctr.init(Cipher.ENCRYPT_MODE, ctrKey, new IvParameterSpec(q));
            return ctr.doFinal(input);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void dbl(byte[] in, byte[] out) {
        int carry = (in[0] & 0x80) != 0 ? 0x87 : 0;
        for (int i = 0; i < 15; i++) {
            out[i] = (byte) ((in[i] << 1) | ((in[i + 1] & 0xff) >>> 7));
        }
        out[15] = (byte) ((in[15] << 1) ^ carry);
    }

    private static void xorInto(byte[] a, byte[] b) {
        for (int i = 0; i < 16; i++) {
            a[i] ^= b[i];
        }
    }

    @Override
    public String toString() {
        return "AesSiv[key redacted]";
    }

    /** Zeroes the subkeys K1, K2 and the CTR key and re-keys both ciphers with a zero key; unusable afterwards. */
    public void close() {
        Arrays.fill(k1, (byte) 0);
        Arrays.fill(k2, (byte) 0);
        byte[] encoded = ctrKey.getEncoded();
        int half = encoded.length;
        Arrays.fill(encoded, (byte) 0);
        ctrKey.destroy();
        try {
            ecb.init(Cipher.ENCRYPT_MODE, ZeroizableKey.zeroAes(half));
            ctr.init(Cipher.ENCRYPT_MODE, ZeroizableKey.zeroAes(half), new IvParameterSpec(new byte[16]));
        } catch (GeneralSecurityException e) {
            // best effort: the key bytes themselves are zeroed above
        }
    }
}
