package org.encryptedknn.prefix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.SecretGuard;
import org.encryptedknn.keys.ZeroizableKey;

/**
 * SAP nonce policy: nonces are a PRF (HMAC-SHA256 under the model's {@code sap-nonce} key,
 * truncated to 16 bytes) of what identifies the record <b>and of the vector</b>, so that a record
 * always encrypts to the same ciphertext within an epoch (fresh-noise copies of one record cannot be
 * averaged), while a changed vector gets fresh noise (two versions of one document do not share their
 * noise, which would give p₁ − p₂ = s·R(u₁ − u₂) exactly).
 *
 * <pre>
 *   document:  HMAC(K, 0x04 ‖ lp(doc id) ‖ lp(field) ‖ int32-BE(epoch) ‖ float32-LE(x))[0..16)
 *   re-keyed:  HMAC(K, 0x05 ‖ lp(doc id) ‖ lp(field) ‖ int32-BE(epoch) ‖ n_old ‖ float32-LE(z_old))[0..16)
 *   query:     HMAC(K, 0x03 ‖ int32-BE(epoch) ‖ float32-LE(x))[0..16)
 *   lp(s) = int32-BE(byte length) ‖ UTF-8(s)
 * </pre>
 *
 * x is the vector as encrypted (normalized when the space is cosine). A re-keyed record has no plaintext vector; its
 * source record (old nonce, which already covers the vector, and old residual, which covers it for records written
 * before the vector was part of the nonce) stands in for it. Tags 0x01 (PRF(doc id ‖ field ‖ epoch), no vector) and
 * 0x02 (PRF(field ‖ epoch ‖ x), no id: it revealed exact duplicates) were the formats before; every writer now assigns
 * an id first. Stored records keep their nonce, so old records still decrypt.
 *
 * The query nonce makes a repeated
 * query encrypt identically (the server sees that it was repeated, which the access pattern
 * shows anyway) instead of giving it fresh noise that an observer could average away.
 */
public final class PrefixNonces implements AutoCloseable {

    private final ZeroizableKey key;
    private final ThreadLocal<Mac> mac;
    private final Set<Mac> macs = ConcurrentHashMap.newKeySet();
    private final SecretGuard guard = new SecretGuard("nonce PRF");
    private static final SecureRandom RANDOM = new SecureRandom();

    public PrefixNonces(byte[] nonceKey) {
        if (nonceKey.length != 32) {
            throw new IllegalArgumentException("nonce key must be 32 bytes");
        }
        this.key = new ZeroizableKey(nonceKey, "HmacSHA256");
        this.mac = ThreadLocal.withInitial(() -> {
            try {
                Mac m = Mac.getInstance("HmacSHA256");
                m.init(key);
                macs.add(m);
                return m;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    public static PrefixNonces derive(KeyDerivation keys, String modelId, byte[] modelSalt) {
        byte[] k = keys.sapNonceKey(modelId, modelSalt);
        try {
            return new PrefixNonces(k);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }

    /** Nonce of a document's vector field: PRF(doc id ‖ field ‖ epoch ‖ vector bytes). */
    public byte[] forDocument(String docId, String field, int epoch, float[] vector) {
        return documentPrf((byte) 4, docId, field, epoch, floatBytes(vector));
    }

    /**
     * Nonce of a record re-keyed to {@code epoch}: PRF(doc id ‖ field ‖ epoch ‖ source nonce ‖ source residual), the
     * source record standing in for the vector (identical source, identical result; a changed one, fresh noise).
     */
    public byte[] forRekeyedDocument(
            String docId, String field, int epoch, byte[] sourceNonce, float[] sourceResidual) {
        return documentPrf((byte) 5, docId, field, epoch, sourceNonce, floatBytes(sourceResidual));
    }

    private byte[] documentPrf(byte tag, String docId, String field, int epoch, byte[]... content) {
        Objects.requireNonNull(docId, "document id");
        Objects.requireNonNull(field, "field");
        return guard.use(() -> {
            Mac m = mac.get();
            m.update(tag);
            updateString(m, docId);
            updateString(m, field);
            updateInt(m, epoch);
            for (byte[] c : content) {
                m.update(c);
            }
            return truncate(m.doFinal());
        });
    }

    /** Deterministic query nonce: PRF(epoch ‖ vector bytes). A repeated query encrypts identically. */
    public byte[] forQuery(float[] vector, int epoch) {
        return guard.use(() -> {
            Mac m = mac.get();
            m.update((byte) 3);
            updateInt(m, epoch);
            m.update(floatBytes(vector));
            return truncate(m.doFinal());
        });
    }

    /** Waits for calls in progress, then zeroes the key and re-keys the per-thread MACs with a zero key. */
    @Override
    public void close() {
        guard.close(() -> {
            key.destroy();
            ZeroizableKey zero = new ZeroizableKey(new byte[32], "HmacSHA256");
            for (Mac m : macs) {
                try {
                    m.init(zero);
                } catch (GeneralSecurityException e) {
                    // best effort: the key bytes themselves are zeroed above
                }
            }
            macs.clear();
        });
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
