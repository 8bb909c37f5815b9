package org.encryptedknn.keys;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a 12-byte random IV and a 128-bit tag. Output layout: IV ‖ ciphertext ‖ tag.
 */
public final class AesGcm {

    public static final int IV_LENGTH = 12;
    public static final int TAG_BITS = 128;
    private static final SecureRandom RANDOM = new SecureRandom();

    private AesGcm() {}

    public static byte[] seal(byte[] key, byte[] plaintext, byte[] aad) {
        byte[] iv = new byte[IV_LENGTH];
        RANDOM.nextBytes(iv);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, iv));
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
    public static byte[] open(byte[] key, byte[] sealed, byte[] aad) throws AEADBadTagException {
        if (sealed.length < IV_LENGTH + TAG_BITS / 8) {
            throw new AEADBadTagException("sealed message too short");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(
                    Cipher.DECRYPT_MODE,
                    new SecretKeySpec(key, "AES"),
                    new GCMParameterSpec(TAG_BITS, sealed, 0, IV_LENGTH));
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
}
