package org.encryptedknn.keys;

import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * The 32-byte master key from which every other key of the project is derived
 * (see {@link KeyDerivation} and docs/key-derivation.md).
 *
 * <p>{@link #toString()} never prints the key. {@link #destroy()} zeroes the bytes;
 * any later use throws {@link IllegalStateException}.
 */
public final class MasterKey implements AutoCloseable {

    /** Length of a master key in bytes. */
    public static final int LENGTH = 32;

    private final byte[] key;
    private volatile boolean destroyed;

    private MasterKey(byte[] key) {
        this.key = key;
    }

    /** Copies {@code bytes} (which must be 32 bytes long); the caller may zero its own array afterwards. */
    public static MasterKey of(byte[] bytes) {
        Objects.requireNonNull(bytes, "master key");
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("master key must be " + LENGTH + " bytes, got " + bytes.length);
        }
        return new MasterKey(bytes.clone());
    }

    /** Parses a base64 (standard alphabet, surrounding whitespace ignored) 32-byte key, as stored in the keystore. */
    public static MasterKey fromBase64(String base64) {
        Objects.requireNonNull(base64, "master key");
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("master key is not valid base64");
        }
        try {
            return of(decoded);
        } finally {
            Arrays.fill(decoded, (byte) 0);
        }
    }

    /** A fresh random master key (SecureRandom). */
    public static MasterKey generate() {
        byte[] bytes = new byte[LENGTH];
        new java.security.SecureRandom().nextBytes(bytes);
        try {
            return of(bytes);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /** A copy of the key bytes; the caller owns it and should zero it when done. */
    public byte[] bytes() {
        checkAlive();
        return key.clone();
    }

    /** The key as base64 (for writing into a keystore); handle the result as a secret. */
    public String toBase64() {
        checkAlive();
        return Base64.getEncoder().encodeToString(key);
    }

    /** Zeroes the key. Idempotent. */
    public void destroy() {
        destroyed = true;
        Arrays.fill(key, (byte) 0);
    }

    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public void close() {
        destroy();
    }

    private void checkAlive() {
        if (destroyed) {
            throw new IllegalStateException("master key has been destroyed");
        }
    }

    @Override
    public String toString() {
        return destroyed ? "MasterKey[destroyed]" : "MasterKey[32 bytes, redacted]";
    }
}
