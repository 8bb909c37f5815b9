package org.encryptedknn.keys;

import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A raw secret key whose bytes can be zeroed ({@link #destroy()}), unlike {@code SecretKeySpec}, which keeps a copy
 * nobody can clear. JCE providers read it through {@link #getEncoded()} (a copy they zero after the key schedule).
 */
public final class ZeroizableKey implements SecretKey {

    private static final long serialVersionUID = 1L;
    private final byte[] key;
    private final String algorithm;
    private volatile boolean destroyed;

    /** Copies {@code length} bytes of {@code bytes} from {@code offset}; the caller may zero its array. */
    public ZeroizableKey(byte[] bytes, int offset, int length, String algorithm) {
        this.key = Arrays.copyOfRange(bytes, offset, offset + length);
        this.algorithm = algorithm;
    }

    public ZeroizableKey(byte[] bytes, String algorithm) {
        this(bytes, 0, bytes.length, algorithm);
    }

    /**
     * An all-zero AES key of {@code length} bytes: re-initializing a cipher with it replaces the round keys a real key
     * left in the cipher (best effort: how a provider stores its key schedule is its own business).
     */
    public static SecretKey zeroAes(int length) {
        return new ZeroizableKey(new byte[length], "AES");
    }

    @Override
    public String getAlgorithm() {
        return algorithm;
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("key has been destroyed");
        }
        return key.clone();
    }

    @Override
    public void destroy() {
        destroyed = true;
        Arrays.fill(key, (byte) 0);
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public String toString() {
        return "ZeroizableKey[" + algorithm + ", redacted]";
    }
}
