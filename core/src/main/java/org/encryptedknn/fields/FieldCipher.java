package org.encryptedknn.fields;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import org.encryptedknn.keys.AesGcm;
import org.encryptedknn.keys.KeyDerivation;

/**
 * Encryption of one text field, with keys derived per field name ({@code field-aead}, {@code field-siv}).
 *
 * <ul>
 *   <li>{@link #encrypt}: AES-256-GCM, 12-byte random IV, AAD = "encrypted-knn/field/v1" ‖ 0 ‖ field ‖ 0 ‖ context
 *       (the caller's context, e.g. index and document id, binds the ciphertext to its document). Output
 *       {@value #RANDOMIZED_PREFIX} + base64(IV ‖ ciphertext ‖ tag). Leaks the length only.</li>
 *   <li>{@link #encryptDeterministic}: AES-SIV (RFC 5297, 512-bit key), associated data = "encrypted-knn/field/v1"
 *       and the field name. Output {@value #DETERMINISTIC_PREFIX} + base64(V ‖ C). Equal plaintexts give equal
 *       ciphertexts, so exact-match (term) filters work — and the storage tier sees which documents share a
 *       value and how often each value occurs (equality and frequency leak by design).</li>
 * </ul>
 * Thread-safe.
 */
public final class FieldCipher implements AutoCloseable {

    public static final String RANDOMIZED_PREFIX = "ekr1:";
    public static final String DETERMINISTIC_PREFIX = "ekd1:";
    private static final byte[] DOMAIN = "encrypted-knn/field/v1".getBytes(StandardCharsets.UTF_8);

    private final String field;
    private final byte[] aeadKey;
    private final byte[] sivKey;
    private final ThreadLocal<AesSiv> siv;

    public FieldCipher(KeyDerivation keys, String field) {
        this.field = Objects.requireNonNull(field, "field");
        this.aeadKey = keys.fieldAeadKey(field);
        this.sivKey = keys.fieldSivKey(field);
        this.siv = ThreadLocal.withInitial(() -> new AesSiv(sivKey));
    }

    public String field() {
        return field;
    }

    public String encrypt(String plaintext, String context) {
        byte[] p = plaintext.getBytes(StandardCharsets.UTF_8);
        return RANDOMIZED_PREFIX + Base64.getEncoder().encodeToString(AesGcm.seal(aeadKey, p, aad(context)));
    }

    /** @throws IllegalArgumentException if the value is not ours, or the key, field or context is wrong, or it was altered */
    public String decrypt(String ciphertext, String context) {
        byte[] sealed = payload(ciphertext, RANDOMIZED_PREFIX);
        try {
            return new String(AesGcm.open(aeadKey, sealed, aad(context)), StandardCharsets.UTF_8);
        } catch (AEADBadTagException e) {
            throw new IllegalArgumentException(
                    "field '" + field + "' cannot be decrypted with this master key and context");
        }
    }

    public String encryptDeterministic(String plaintext) {
        byte[] p = plaintext.getBytes(StandardCharsets.UTF_8);
        return DETERMINISTIC_PREFIX
                + Base64.getEncoder()
                        .encodeToString(siv.get().encrypt(p, DOMAIN, field.getBytes(StandardCharsets.UTF_8)));
    }

    public String decryptDeterministic(String ciphertext) {
        byte[] c = payload(ciphertext, DETERMINISTIC_PREFIX);
        try {
            return new String(
                    siv.get().decrypt(c, DOMAIN, field.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
        } catch (AEADBadTagException e) {
            throw new IllegalArgumentException("field '" + field + "' cannot be decrypted with this master key");
        }
    }

    /** True if the value carries one of this package's prefixes. */
    public static boolean isEncrypted(String value) {
        return value != null && (value.startsWith(RANDOMIZED_PREFIX) || value.startsWith(DETERMINISTIC_PREFIX));
    }

    private byte[] aad(String context) {
        byte[] f = field.getBytes(StandardCharsets.UTF_8);
        byte[] c = context == null ? new byte[0] : context.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[DOMAIN.length + 1 + f.length + 1 + c.length];
        System.arraycopy(DOMAIN, 0, out, 0, DOMAIN.length);
        System.arraycopy(f, 0, out, DOMAIN.length + 1, f.length);
        System.arraycopy(c, 0, out, DOMAIN.length + 2 + f.length, c.length);
        return out;
    }

    private byte[] payload(String value, String prefix) {
        if (value == null || !value.startsWith(prefix)) {
            throw new IllegalArgumentException("field '" + field
                    + "' value is not an encrypted value of this kind (expected prefix " + prefix + ")");
        }
        try {
            return Base64.getDecoder().decode(value.substring(prefix.length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field '" + field + "' value is not valid base64");
        }
    }

    /** Zeroes the field keys. */
    @Override
    public void close() {
        Arrays.fill(aeadKey, (byte) 0);
        Arrays.fill(sivKey, (byte) 0);
    }

    @Override
    public String toString() {
        return "FieldCipher[" + field + ", keys redacted]";
    }
}
