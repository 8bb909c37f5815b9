package org.encryptedknn.keys;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Every subkey of the project, derived from one {@link MasterKey} with HKDF-SHA256
 * (RFC 5869). The format is versioned ("v1") and documented in docs/key-derivation.md;
 * the same inputs give the same keys on every node and in every client.
 *
 * <pre>
 *   PRK  = HKDF-Extract(salt = UTF-8("encrypted-knn/v1/salt"), IKM = master key)
 *   key  = HKDF-Expand(PRK, info, L)
 *   info = UTF-8(label) ‖ for each context part: uint32-BE(length) ‖ bytes
 *          (strings are UTF-8, integers are 4-byte big-endian two's complement)
 * </pre>
 *
 * Callers own the returned arrays and should zero them when done. {@link #close()} zeroes the PRK.
 */
public final class KeyDerivation implements AutoCloseable {

    /** Version tag of the derivation format; part of every label. */
    public static final String VERSION = "encrypted-knn/v1";
    /** HKDF salt. */
    public static final String SALT = VERSION + "/salt";

    /** SAP PRF key (AES-256, noise stream). Context: model id, epoch. */
    public static final String SAP_PRF = VERSION + "/sap-prf";
    /** SAP scale s ∈ [1, 2). Context: model id, epoch. */
    public static final String SAP_SCALE = VERSION + "/sap-scale";
    /** SAP nonce PRF (HMAC-SHA256 key). Context: model id. */
    public static final String SAP_NONCE = VERSION + "/sap-nonce";
    /** Seed of the prefix rotation R_pub. Context: model id, epoch. */
    public static final String PREFIX_ROTATION = VERSION + "/prefix-rotation";
    /** Seed of the per-cell residual key H_c. Context: model id, epoch, cell. */
    public static final String CELL_KEY = VERSION + "/cell-key";
    /** AES-256-GCM key of an encrypted text field. Context: field name. */
    public static final String FIELD_AEAD = VERSION + "/field-aead";
    /** AES-SIV (512-bit) key of a deterministically encrypted field. Context: field name. */
    public static final String FIELD_SIV = VERSION + "/field-siv";
    /** AES-256-GCM key that seals the secret part of stored models. No context. */
    public static final String MODEL_SEAL = VERSION + "/model-seal";

    private final byte[] prk;
    private volatile boolean closed;

    /** Derives the PRK from the master key; the master key itself is not retained. */
    public KeyDerivation(MasterKey masterKey) {
        Objects.requireNonNull(masterKey, "master key");
        byte[] ikm = masterKey.bytes();
        try {
            this.prk = Hkdf.extract(SALT.getBytes(StandardCharsets.UTF_8), ikm);
        } finally {
            Arrays.fill(ikm, (byte) 0);
        }
    }

    /** Generic derivation: {@code length} bytes for {@code label} and context parts (String, Integer, Long or byte[]). */
    public byte[] derive(String label, int length, Object... context) {
        if (closed) {
            throw new IllegalStateException("key derivation has been closed");
        }
        return Hkdf.expand(prk, info(label, context), length);
    }

    /** The HKDF info string for a label and context, exposed for docs and tests. */
    public static byte[] info(String label, Object... context) {
        Objects.requireNonNull(label, "label");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(label.getBytes(StandardCharsets.UTF_8));
        for (Object part : context) {
            byte[] bytes;
            if (part instanceof String s) {
                bytes = s.getBytes(StandardCharsets.UTF_8);
            } else if (part instanceof Integer i) {
                bytes = new byte[] {(byte) (i >>> 24), (byte) (i >>> 16), (byte) (i >>> 8), (byte) (int) i};
            } else if (part instanceof byte[] b) {
                bytes = b;
            } else {
                throw new IllegalArgumentException(
                        "unsupported context part type: " + (part == null ? "null" : part.getClass()));
            }
            int n = bytes.length;
            out.write(n >>> 24);
            out.write(n >>> 16);
            out.write(n >>> 8);
            out.write(n);
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    public byte[] sapPrfKey(String modelId, int epoch) {
        return derive(SAP_PRF, 32, modelId, epoch);
    }

    /** SAP scale s = 1 + (first 53 bits of the derived bytes)/2^53, so s ∈ [1, 2). */
    public double sapScale(String modelId, int epoch) {
        byte[] b = derive(SAP_SCALE, 8, modelId, epoch);
        try {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (b[i] & 0xFF);
            }
            return 1.0 + (v >>> 11) * 0x1.0p-53;
        } finally {
            Arrays.fill(b, (byte) 0);
        }
    }

    public byte[] sapNonceKey(String modelId) {
        return derive(SAP_NONCE, 32, modelId);
    }

    public byte[] prefixRotationSeed(String modelId, int epoch) {
        return derive(PREFIX_ROTATION, 32, modelId, epoch);
    }

    public byte[] cellKeySeed(String modelId, int epoch, int cell) {
        return derive(CELL_KEY, 32, modelId, epoch, cell);
    }

    public byte[] fieldAeadKey(String field) {
        return derive(FIELD_AEAD, 32, field);
    }

    public byte[] fieldSivKey(String field) {
        return derive(FIELD_SIV, 64, field);
    }

    public byte[] modelSealKey() {
        return derive(MODEL_SEAL, 32);
    }

    /** Zeroes the PRK. */
    @Override
    public void close() {
        closed = true;
        Arrays.fill(prk, (byte) 0);
    }

    @Override
    public String toString() {
        return "KeyDerivation[" + VERSION + (closed ? ", closed]" : "]");
    }
}
