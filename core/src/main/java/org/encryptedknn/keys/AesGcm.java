package org.encryptedknn.keys;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM under one key, with a 12-byte random IV and a 128-bit tag. Output layout: IV ‖ ciphertext ‖ tag.
 *
 * <p>The key lives in one {@link ZeroizableKey} for the life of this object, zeroed by {@link #close()}: a
 * {@code SecretKeySpec} per call would leave a copy of the key in the heap after every call that nobody can clear.
 * Thread-safe (a cipher per call; GCM cannot reuse an initialized encryptor for a new IV anyway); callers that share
 * an instance across threads make sure no call is in progress when they close it ({@link SecretGuard}).
 */
public final class AesGcm implements AutoCloseable {

    public static final int IV_LENGTH = 12;
    public static final int TAG_BITS = 128;
    private static final int KEY_LENGTH = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ZeroizableKey key;

    /** Copies the 32-byte key; the caller may zero its array. */
    public AesGcm(byte[] key) {
        if (key.length != KEY_LENGTH) {
            throw new IllegalArgumentException("AES-256-GCM key must be " + KEY_LENGTH + " bytes, got " + key.length);
        }
        this.key = new ZeroizableKey(key, "AES");
    }

    public byte[] seal(byte[] plaintext, byte[] aad) {
        byte[] iv = new byte[IV_LENGTH];
        RANDOM.nextBytes(iv);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
            if (aad != null) {
                cipher.updateAAD(aad);
            }
            byte[] out = new byte[IV_LENGTH + cipher.getOutputSize(plaintext.length)];
            System.arraycopy(iv, 0, out, 0, IV_LENGTH);
            cipher.doFinal(plaintext, 0, plaintext.length, out, IV_LENGTH);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * Opens a sealed message.
     *
     * @throws AEADBadTagException if the key or AAD is wrong or the bytes were altered
     */
    public byte[] open(byte[] sealed, byte[] aad) throws AEADBadTagException {
        if (sealed.length < IV_LENGTH + TAG_BITS / 8) {
            throw new AEADBadTagException("sealed message too short");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed, 0, IV_LENGTH));
            if (aad != null) {
                cipher.updateAAD(aad);
            }
            return cipher.doFinal(sealed, IV_LENGTH, sealed.length - IV_LENGTH);
        } catch (AEADBadTagException e) {
            throw e;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM decryption failed", e);
        }
    }

    /** True once {@link #close()} has zeroed the key. */
    public boolean isClosed() {
        return key.isDestroyed();
    }

    /** Zeroes the key; later calls fail with {@link IllegalStateException}. */
    @Override
    public void close() {
        key.destroy();
    }
}
