package org.encryptedknn.fields;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.AEADBadTagException;
import org.encryptedknn.keys.AesGcm;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.SecretGuard;

/**
 * Encryption of one text field, with keys derived per field name ({@code field-aead}, {@code field-siv}).
 *
 * <ul>
 *   <li>{@link #encrypt}: AES-256-GCM, 12-byte random IV, AAD = "encrypted-knn/field/v2" ‖ lp(index) ‖ lp(_id) ‖
 *       lp(field), lp(s) = uint32-BE(UTF-8 length) ‖ UTF-8(s): a ciphertext moved to another index, another document
 *       or another field does not decrypt. Output {@value #RANDOMIZED_PREFIX} + base64(IV ‖ ciphertext ‖ tag). Leaks
 *       the length only. Values of format v1 ({@value #RANDOMIZED_PREFIX_V1}, AAD "encrypted-knn/field/v1" ‖ 0 ‖
 *       field ‖ 0 ‖ index, no _id) still decrypt; re-encrypting them (the re-key processor) writes v2.</li>
 *   <li>{@link #encryptDeterministic}: AES-SIV (RFC 5297, 512-bit key), associated data = "encrypted-knn/field/v1"
 *       and the field name. Output {@value #DETERMINISTIC_PREFIX} + base64(V ‖ C). Equal plaintexts give equal
 *       ciphertexts, so exact-match (term) filters work — and the storage tier sees which documents share a
 *       value and how often each value occurs (equality and frequency leak by design).</li>
 * </ul>
 * Thread-safe.
 */
public final class FieldCipher implements AutoCloseable {

    public static final String RANDOMIZED_PREFIX = "ekr2:";
    /** Randomized values written before the _id was bound (AAD without it): decrypted, never written. */
    public static final String RANDOMIZED_PREFIX_V1 = "ekr1:";

    public static final String DETERMINISTIC_PREFIX = "ekd1:";
    private static final byte[] DOMAIN = "encrypted-knn/field/v1".getBytes(StandardCharsets.UTF_8);
    private static final byte[] DOMAIN_V2 = "encrypted-knn/field/v2".getBytes(StandardCharsets.UTF_8);

    private final String field;
    private final AesGcm aead;
    private final byte[] sivKey;
    private final ThreadLocal<AesSiv> siv;
    private final Set<AesSiv> sivs = ConcurrentHashMap.newKeySet();
    private final SecretGuard guard;

    public FieldCipher(KeyDerivation keys, String field) {
        this.field = Objects.requireNonNull(field, "field");
        byte[] aeadKey = keys.fieldAeadKey(field);
        try {
            this.aead = new AesGcm(aeadKey);
        } finally {
            Arrays.fill(aeadKey, (byte) 0);
        }
        this.sivKey = keys.fieldSivKey(field);
        this.guard = new SecretGuard("cipher of field '" + field + "'");
        this.siv = ThreadLocal.withInitial(() -> {
            AesSiv s = new AesSiv(sivKey);
            sivs.add(s);
            return s;
        });
    }

    public String field() {
        return field;
    }

    /** AES-256-GCM bound to (index, document id, field). */
    public String encrypt(String plaintext, String index, String docId) {
        byte[] p = plaintext.getBytes(StandardCharsets.UTF_8);
        byte[] aad = aad(index, docId);
        return guard.use(() -> RANDOMIZED_PREFIX + Base64.getEncoder().encodeToString(aead.seal(p, aad)));
    }

    /**
     * Opens a value of this field written for ({@code index}, {@code docId}); a v1 value ({@value #RANDOMIZED_PREFIX_V1})
     * was bound to the index only.
     *
     * @throws IllegalArgumentException if the value is not ours, or the key, field, index or document is wrong, or it
     *     was altered
     */
    public String decrypt(String ciphertext, String index, String docId) {
        boolean v1 = ciphertext != null && ciphertext.startsWith(RANDOMIZED_PREFIX_V1);
        byte[] sealed = payload(ciphertext, v1 ? RANDOMIZED_PREFIX_V1 : RANDOMIZED_PREFIX);
        byte[] aad = v1 ? aadV1(index) : aad(index, docId);
        try {
            return new String(guard.use(() -> open(sealed, aad)), StandardCharsets.UTF_8);
        } catch (UncheckedBadTag e) {
            throw new IllegalArgumentException("field '" + field
                    + "' cannot be decrypted with this master key for this index and document"
                    + " (a value moved from another document or index does not decrypt)");
        }
    }

    private byte[] open(byte[] sealed, byte[] aad) {
        try {
            return aead.open(sealed, aad);
        } catch (AEADBadTagException e) {
            throw new UncheckedBadTag();
        }
    }

    /** A failed tag check carried out of a {@link SecretGuard#use} body. */
    private static final class UncheckedBadTag extends RuntimeException {
        UncheckedBadTag() {
            super(null, null, false, false);
        }
    }

    public String encryptDeterministic(String plaintext) {
        byte[] p = plaintext.getBytes(StandardCharsets.UTF_8);
        return DETERMINISTIC_PREFIX
                + Base64.getEncoder()
                        .encodeToString(
                                guard.use(() -> siv.get().encrypt(p, DOMAIN, field.getBytes(StandardCharsets.UTF_8))));
    }

    public String decryptDeterministic(String ciphertext) {
        byte[] c = payload(ciphertext, DETERMINISTIC_PREFIX);
        try {
            return new String(
                    guard.use(() -> {
                        try {
                            return siv.get().decrypt(c, DOMAIN, field.getBytes(StandardCharsets.UTF_8));
                        } catch (AEADBadTagException e) {
                            throw new UncheckedBadTag();
                        }
                    }),
                    StandardCharsets.UTF_8);
        } catch (UncheckedBadTag e) {
            throw new IllegalArgumentException("field '" + field + "' cannot be decrypted with this master key");
        }
    }

    /** True if the value carries one of this package's prefixes. */
    public static boolean isEncrypted(String value) {
        return value != null
                && (value.startsWith(RANDOMIZED_PREFIX)
                        || value.startsWith(RANDOMIZED_PREFIX_V1)
                        || value.startsWith(DETERMINISTIC_PREFIX));
    }

    /** True for a randomized (AES-GCM) value of either version. */
    public static boolean isRandomized(String value) {
        return value != null && (value.startsWith(RANDOMIZED_PREFIX) || value.startsWith(RANDOMIZED_PREFIX_V1));
    }

    /** v2: domain ‖ lp(index) ‖ lp(_id) ‖ lp(field), so no name can run into the next. */
    private byte[] aad(String index, String docId) {
        Objects.requireNonNull(index, "index");
        Objects.requireNonNull(docId, "document id (assign one before encrypting)");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(DOMAIN_V2);
        for (String part : new String[] {index, docId, field}) {
            byte[] b = part.getBytes(StandardCharsets.UTF_8);
            out.write(b.length >>> 24);
            out.write(b.length >>> 16);
            out.write(b.length >>> 8);
            out.write(b.length);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    /** v1 (read only): domain ‖ 0 ‖ field ‖ 0 ‖ index. */
    private byte[] aadV1(String index) {
        byte[] f = field.getBytes(StandardCharsets.UTF_8);
        byte[] c = index == null ? new byte[0] : index.getBytes(StandardCharsets.UTF_8);
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

    /** Waits for calls in progress, then zeroes the field keys and the AES-SIV subkeys of every thread. */
    @Override
    public void close() {
        guard.close(() -> {
            aead.close();
            Arrays.fill(sivKey, (byte) 0);
            sivs.forEach(AesSiv::close);
            sivs.clear();
        });
    }

    @Override
    public String toString() {
        return "FieldCipher[" + field + ", keys redacted]";
    }
}
