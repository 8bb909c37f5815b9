package org.encryptedknn.prefix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.encryptedknn.keys.KeyDerivation;

/**
 * SAP nonce policy: nonces are a PRF (HMAC-SHA256 under the model's {@code sap-nonce} key,
 * truncated to 16 bytes) of what identifies the record, so that a record always encrypts to the
 * same ciphertext within an epoch and fresh-noise copies cannot be averaged.
 *
 * <pre>
 *   document:  HMAC(K, 0x01 ‖ lp(doc id) ‖ lp(field) ‖ int32-BE(epoch))[0..16)
 *   vector:    HMAC(K, 0x02 ‖ lp(field) ‖ int32-BE(epoch) ‖ float32-LE(x))[0..16)   (fallback: no id yet)
 *   query:     HMAC(K, 0x03 ‖ int32-BE(epoch) ‖ float32-LE(x))[0..16)
 *   lp(s) = int32-BE(byte length) ‖ UTF-8(s)
 * </pre>
 *
 * The vector fallback reveals exact duplicates: two documents with the same vector (same field,
 * same epoch) get the same nonce and hence the same ciphertext. The query nonce makes a repeated
 * query encrypt identically (the server sees that it was repeated, which the access pattern
 * shows anyway) instead of giving it fresh noise that an observer could average away.
 */
public final class PrefixNonces {

    private final SecretKeySpec key;
    private final ThreadLocal<Mac> mac;
    private static final SecureRandom RANDOM = new SecureRandom();

    public PrefixNonces(byte[] nonceKey) {
        if (nonceKey.length != 32) {
            throw new IllegalArgumentException("nonce key must be 32 bytes");
        }
        this.key = new SecretKeySpec(nonceKey, "HmacSHA256");
        this.mac = ThreadLocal.withInitial(() -> {
            try {
                Mac m = Mac.getInstance("HmacSHA256");
                m.init(key);
                return m;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    public static PrefixNonces derive(KeyDerivation keys, String modelId) {
        byte[] k = keys.sapNonceKey(modelId);
        try {
            return new PrefixNonces(k);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    /** Nonce of a document's vector field: PRF(doc id ‖ field ‖ epoch). */
    public byte[] forDocument(String docId, String field, int epoch) {
        Objects.requireNonNull(docId, "document id");
        Objects.requireNonNull(field, "field");
        Mac m = mac.get();
        m.update((byte) 1);
        updateString(m, docId);
        updateString(m, field);
        updateInt(m, epoch);
        return truncate(m.doFinal());
    }

    /** Fallback when no document id exists yet: PRF(field ‖ epoch ‖ vector bytes). Reveals exact duplicates. */
    public byte[] forVector(float[] vector, String field, int epoch) {
        Objects.requireNonNull(field, "field");
        Mac m = mac.get();
        m.update((byte) 2);
        updateString(m, field);
        updateInt(m, epoch);
        m.update(floatBytes(vector));
        return truncate(m.doFinal());
    }

    /** Deterministic query nonce: PRF(epoch ‖ vector bytes). A repeated query encrypts identically. */
    public byte[] forQuery(float[] vector, int epoch) {
        Mac m = mac.get();
        m.update((byte) 3);
        updateInt(m, epoch);
        m.update(floatBytes(vector));
        return truncate(m.doFinal());
    }

    /** A random nonce (SecureRandom), for callers that want fresh noise and accept averaging. */
    public static byte[] random() {
        byte[] n = new byte[ScaleAndPerturb.NONCE_LENGTH];
        RANDOM.nextBytes(n);
        return n;
    }

    private static byte[] truncate(byte[] full) {
        byte[] n = Arrays.copyOf(full, ScaleAndPerturb.NONCE_LENGTH);
        Arrays.fill(full, (byte) 0);
        return n;
    }

    private static void updateString(Mac m, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        updateInt(m, b.length);
        m.update(b);
    }

    private static void updateInt(Mac m, int v) {
        m.update((byte) (v >>> 24));
        m.update((byte) (v >>> 16));
        m.update((byte) (v >>> 8));
        m.update((byte) v);
    }

    private static byte[] floatBytes(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    @Override
    public String toString() {
        return "PrefixNonces[key redacted]";
    }
}
