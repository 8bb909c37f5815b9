package org.encryptedknn.keys;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A deterministic pseudorandom stream: the AES-256-CTR keystream under a 32-byte key and a
 * 16-byte initial counter block (the IV), turned into uniforms and Gaussians in a documented,
 * platform-independent way (StrictMath), so that every node and client regenerates exactly
 * the same numbers.
 *
 * <ul>
 *   <li>uniform: 8 keystream bytes, big-endian, top 53 bits v → (v + 0.5)·2^-53 ∈ (0, 1)</li>
 *   <li>Gaussian pair: two uniforms u1, u2 → √(−2 ln u1)·cos(2π u2), √(−2 ln u1)·sin(2π u2) (Box–Muller)</li>
 * </ul>
 */
public final class PrfStream {

    private static final int BLOCK = 4096;
    private final Cipher cipher;
    private final byte[] zeros = new byte[BLOCK];
    private final byte[] buffer = new byte[BLOCK];
    private int position = BLOCK;
    private double spare;
    private boolean hasSpare;

    public PrfStream(byte[] key32, byte[] iv16) {
        this.cipher = ctr(key32, iv16);
    }

    /** A stream with an all-zero IV (for keys used for one stream only). */
    public PrfStream(byte[] key32) {
        this(key32, new byte[16]);
    }

    /** An AES-CTR cipher initialised for encryption (keystream = encryption of zeros). */
    public static Cipher ctr(byte[] key32, byte[] iv16) {
        if (key32.length != 32) {
            throw new IllegalArgumentException("PRF key must be 32 bytes");
        }
        if (iv16.length != 16) {
            throw new IllegalArgumentException("PRF IV (nonce) must be 16 bytes, got " + iv16.length);
        }
        try {
            Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key32, "AES"), new IvParameterSpec(iv16));
            return c;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/CTR unavailable", e);
        }
    }

    public void nextBytes(byte[] out) {
        for (int i = 0; i < out.length; i++) {
            if (position == BLOCK) {
                refill();
            }
            out[i] = buffer[position++];
        }
    }

    public long nextLong() {
        if (position + 8 > BLOCK) {
            refill();
        }
        long v = readLong(buffer, position);
        position += 8;
        return v;
    }

    public double nextUniform() {
        return toUniform(nextLong());
    }

    public double nextGaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double u1 = nextUniform();
        double u2 = nextUniform();
        double rad = StrictMath.sqrt(-2.0 * StrictMath.log(u1));
        double ang = 2.0 * StrictMath.PI * u2;
        spare = rad * StrictMath.sin(ang);
        hasSpare = true;
        return rad * StrictMath.cos(ang);
    }

    private void refill() {
        try {
            cipher.update(zeros, 0, BLOCK, buffer, 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        position = 0;
    }

    /** Zeroes the buffered keystream. */
    public void wipe() {
        Arrays.fill(buffer, (byte) 0);
        position = BLOCK;
    }

    public static long readLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    public static double toUniform(long bits) {
        return ((bits >>> 11) + 0.5) * 0x1.0p-53;
    }

    /**
     * Fills {@code out} with Gaussians from {@code stream} starting at {@code offset}, consuming
     * 8 bytes per output value (pairs via Box–Muller; an odd count wastes the last sine). Uses {@link Math}, not
     * {@code StrictMath} like {@link #nextGaussian}: this is SAP's noise, which the key holder regenerates and subtracts
     * for every window hit, where the intrinsics are 4× faster (docs/performance.md); a JVM whose {@code Math.log}
     * differs in the last bit changes a decrypted prefix by ≈ 1e-17, far below its float32 precision. The matrices
     * derived from seeds, which must be the same bits everywhere, stay on {@link #nextGaussian}.
     */
    public static void gaussians(byte[] stream, int offset, double[] out, int count) {
        int p = offset;
        for (int i = 0; i < count; i += 2) {
            double u1 = toUniform(readLong(stream, p));
            double u2 = toUniform(readLong(stream, p + 8));
            p += 16;
            double rad = Math.sqrt(-2.0 * Math.log(u1));
            double ang = 2.0 * Math.PI * u2;
            out[i] = rad * Math.cos(ang);
            if (i + 1 < count) {
                out[i + 1] = rad * Math.sin(ang);
            }
        }
    }
}
