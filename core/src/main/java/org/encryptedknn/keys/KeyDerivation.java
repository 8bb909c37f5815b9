package org.encryptedknn.keys;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * Every subkey of the project, derived from one {@link MasterKey} with HKDF-SHA256
 * (RFC 5869). The format is versioned and documented in docs/key-derivation.md;
 * the same inputs give the same keys on every node and in every client.
 *
 * <pre>
 *   PRK  = HKDF-Extract(salt = UTF-8("encrypted-knn/v1/salt"), IKM = master key)
 *   key  = HKDF-Expand(PRK, info, L)
 *   info = UTF-8(label) ‖ for each context part: uint32-BE(length) ‖ bytes
 *          (strings are UTF-8, integers are 4-byte big-endian two's complement)
 * </pre>
 *
 * Model keys (SAP, nonce PRF, prefix rotation, cell keys) come in two formats, chosen by the model: format v2
 * (labels {@code encrypted-knn/v2/…}, context model id ‖ model key salt ‖ …) for models that carry a random
 * {@linkplain org.encryptedknn.model.EncryptionModel#keySalt() key salt}, so a model deleted and created again
 * under the same id derives unrelated keys; format v1 (labels {@code encrypted-knn/v1/…}, no salt) for models
 * stored before the salt existed. Field and model-seal keys are not per model and stay v1.
 *
 * Callers own the returned arrays and should zero them when done. {@link #close()} zeroes the PRK.
 */
public final class KeyDerivation implements AutoCloseable {

    /** Version tag of the derivation format; part of every label. */
    public static final String VERSION = "encrypted-knn/v1";
    /** Version tag of the salted model-key format. */
    public static final String VERSION_2 = "encrypted-knn/v2";
    /** HKDF salt. */
    public static final String SALT = VERSION + "/salt";
    /** Length of a model key salt (format v2). */
    public static final int MODEL_SALT_LENGTH = 32;

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
    /** Key of the per-epoch cell jitter (models with cell_jitter; used under its v2 label). */
    public static final String CELL_JITTER = VERSION + "/cell-jitter";
    /**
     * AES-256-GCM key of the sealed records of a model epoch (the vector itself, for the key holder only; used under
     * its v2 label for salted models). Context: model id, salt, epoch.
     */
    public static final String SEALED_RECORD = VERSION + "/sealed-record";
    /** AES-256-GCM key of an encrypted text field. Context: field name. */
    public static final String FIELD_AEAD = VERSION + "/field-aead";
    /** AES-SIV (512-bit) key of a deterministically encrypted field. Context: field name. */
    public static final String FIELD_SIV = VERSION + "/field-siv";
    /** AES-256-GCM key that seals the secret part of stored models. No context. */
    public static final String MODEL_SEAL = VERSION + "/model-seal";

    private final byte[] prk;
    private final SecretGuard guard = new SecretGuard("key derivation");

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
        byte[] info = info(label, context);
        return guard.use(() -> Hkdf.expand(prk, info, length));
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

    /**
     * Label and context of a model key: v2 ({@code modelSalt} non-null) binds the salt after the model id; v1
     * ({@code modelSalt} null, models stored before format v2) does not.
     */
    private byte[] deriveModelKey(String v1Label, int length, String modelId, byte[] modelSalt, Object... rest) {
        Object[] context = new Object[rest.length + (modelSalt == null ? 1 : 2)];
        context[0] = modelId;
        int at = 1;
        if (modelSalt != null) {
            if (modelSalt.length != MODEL_SALT_LENGTH) {
                throw new IllegalArgumentException("model key salt must be " + MODEL_SALT_LENGTH + " bytes");
            }
            context[at++] = modelSalt;
        }
        System.arraycopy(rest, 0, context, at, rest.length);
        String label = modelSalt == null ? v1Label : VERSION_2 + v1Label.substring(VERSION.length());
        return derive(label, length, context);
    }

    public byte[] sapPrfKey(String modelId, byte[] modelSalt, int epoch) {
        return deriveModelKey(SAP_PRF, 32, modelId, modelSalt, epoch);
    }

    /** SAP scale s = 1 + (first 53 bits of the derived bytes)/2^53, so s ∈ [1, 2). */
    public double sapScale(String modelId, byte[] modelSalt, int epoch) {
        byte[] b = deriveModelKey(SAP_SCALE, 8, modelId, modelSalt, epoch);
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

    public byte[] sapNonceKey(String modelId, byte[] modelSalt) {
        return deriveModelKey(SAP_NONCE, 32, modelId, modelSalt);
    }

    public byte[] prefixRotationSeed(String modelId, byte[] modelSalt, int epoch) {
        return deriveModelKey(PREFIX_ROTATION, 32, modelId, modelSalt, epoch);
    }

    public byte[] cellKeySeed(String modelId, byte[] modelSalt, int epoch, int cell) {
        return deriveModelKey(CELL_KEY, 32, modelId, modelSalt, epoch, cell);
    }

    /** AES-256-CTR key of the cell jitter at an epoch: the record's nonce is the IV (docs/design.md §2 "Cells"). */
    public byte[] cellJitterKey(String modelId, byte[] modelSalt, int epoch) {
        return deriveModelKey(CELL_JITTER, 32, modelId, modelSalt, epoch);
    }

    /** AES-256-GCM key of the epoch's sealed records: the record's nonce is the IV (docs/design.md §5.1). */
    public byte[] sealedRecordKey(String modelId, byte[] modelSalt, int epoch) {
        return deriveModelKey(SEALED_RECORD, 32, modelId, modelSalt, epoch);
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

    /** Zeroes the PRK once the derivations in progress are done; later derivations fail. */
    @Override
    public void close() {
        guard.close(() -> Arrays.fill(prk, (byte) 0));
    }

    @Override
    public String toString() {
        return "KeyDerivation[" + VERSION + (guard.isClosed() ? ", closed]" : "]");
    }
}
