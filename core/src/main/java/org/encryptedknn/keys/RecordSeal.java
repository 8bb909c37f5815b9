package org.encryptedknn.keys;

import java.security.GeneralSecurityException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM under one key with the caller's 12-byte IV and a 128-bit tag, output ciphertext ‖ tag: the sealed part
 * of a record, whose IV is the record's own nonce (stored beside it), so nothing else is stored. Unique IVs are the
 * caller's to guarantee (a record's nonce is a PRF of its document, field, epoch and vector, or random).
 *
 * <p>Opening is the key holder's per-hit work on a search window, so each thread keeps its decrypting cipher; sealing
 * takes a fresh one (GCM refuses to re-initialize an encryptor with the IV it last used). {@link #close()} zeroes the
 * key and re-keys every kept cipher with zeros; callers make sure no call is in progress ({@link SecretGuard}).
 */
public final class RecordSeal implements AutoCloseable {

    public static final int IV_LENGTH = 12;
    public static final int TAG_BYTES = 16;
    private static final int KEY_LENGTH = 32;

    private final ZeroizableKey key;
    private final Set<Cipher> openers = ConcurrentHashMap.newKeySet();
    private final ThreadLocal<Cipher> opener = ThreadLocal.withInitial(() -> {
        Cipher c = cipher();
        openers.add(c);
        return c;
    });

    /** Copies the 32-byte key; the caller may zero its array. */
    public RecordSeal(byte[] key) {
        if (key.length != KEY_LENGTH) {
            throw new IllegalArgumentException("AES-256-GCM key must be " + KEY_LENGTH + " bytes, got " + key.length);
        }
        this.key = new ZeroizableKey(key, "AES");
    }

    /** ciphertext ‖ tag of {@code plaintext}; {@code iv}: the first {@value #IV_LENGTH} bytes are used. */
    public byte[] seal(byte[] iv, byte[] aad, byte[] plaintext) {
        try {
            Cipher cipher = cipher();
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, iv, 0, IV_LENGTH));
            cipher.updateAAD(aad);
            return cipher.doFinal(plaintext);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM sealing failed", e);
        }
    }

    /**
     * Opens {@code sealed} into {@code out} (length {@code sealed.length − 16}); false, with {@code out} untouched, when
     * the tag does not verify: the bytes, the IV or the associated data were altered, or another key sealed them.
     */
    public boolean open(byte[] iv, byte[] aad, byte[] sealed, byte[] out) {
        Objects.requireNonNull(sealed, "sealed");
        if (sealed.length < TAG_BYTES || out.length != sealed.length - TAG_BYTES) {
            return false;
        }
        Cipher cipher = opener.get();
        try {
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, iv, 0, IV_LENGTH));
            cipher.updateAAD(aad);
            cipher.doFinal(sealed, 0, sealed.length, out, 0);
            return true;
        } catch (AEADBadTagException e) {
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM opening failed", e);
        }
    }

    /** Zeroes the key and replaces the kept ciphers' round keys with those of an all-zero key (best effort). */
    @Override
    public void close() {
        key.destroy();
        for (Cipher c : openers) {
            try {
                c.init(
                        Cipher.DECRYPT_MODE,
                        ZeroizableKey.zeroAes(KEY_LENGTH),
                        new GCMParameterSpec(TAG_BYTES * 8, new byte[IV_LENGTH]));
            } catch (GeneralSecurityException e) {
                // best effort: the key bytes themselves are zeroed above
            }
        }
        openers.clear();
    }

    private static Cipher cipher() {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM unavailable", e);
        }
    }

    @Override
    public String toString() {
        return "RecordSeal[AES-256-GCM, key redacted]";
    }
}
