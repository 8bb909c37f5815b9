package org.encryptedknn.client;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.keys.AesGcm;
import org.encryptedknn.keys.KeyDerivation;

/**
 * The key holder's CKKS secret key, kept next to the model.
 *
 * <p>It cannot be derived from the master key: the SEAL binding generates secret keys only from SEAL's own CSPRNG
 * (no seeded key generation is exported by {@code native/}). So the key holder generates one per (model, parameter
 * set) and stores it sealed: AES-256-GCM under {@code HKDF(master, "encrypted-knn/v1/ckks-secret-key", model id)},
 * with the model id and the parameters as associated data. The sealed blob is useless without the master key and
 * cannot be moved to another model or parameter set. Losing it costs nothing but a new key: CKKS keys are ephemeral
 * in this protocol (nothing is stored encrypted under them), so a fresh key works for the next query.
 */
public final class CkksClientKeys {

    public static final String LABEL = KeyDerivation.VERSION + "/ckks-secret-key";

    private CkksClientKeys() {}

    /** Seals {@code key} for {@code modelId}. */
    public static byte[] seal(KeyDerivation keys, String modelId, CkksSecretKey key) {
        byte[] wrap = keys.derive(LABEL, 32, modelId);
        byte[] plain = key.toBytes();
        try {
            return AesGcm.seal(wrap, plain, aad(modelId, key.context().parameters()));
        } finally {
            Arrays.fill(plain, (byte) 0);
            Arrays.fill(wrap, (byte) 0);
        }
    }

    /** Opens a key sealed by {@link #seal}; fails if the master key, the model or the parameters differ. */
    public static CkksSecretKey open(KeyDerivation keys, String modelId, CkksContext context, byte[] sealed) {
        byte[] wrap = keys.derive(LABEL, 32, modelId);
        byte[] plain = null;
        try {
            plain = AesGcm.open(wrap, sealed, aad(modelId, context.parameters()));
            return CkksSecretKey.load(context, plain);
        } catch (AEADBadTagException e) {
            throw new IllegalArgumentException(
                    "sealed CKKS key does not open for model '" + modelId + "' with " + context.parameters()
                            + " under this master key",
                    e);
        } finally {
            if (plain != null) {
                Arrays.fill(plain, (byte) 0);
            }
            Arrays.fill(wrap, (byte) 0);
        }
    }

    private static byte[] aad(String modelId, CkksParameters p) {
        return (LABEL + "|" + modelId + "|" + p.polyDegree() + "|" + p.coeffModulusBits() + "|" + p.scaleBits() + "|"
                        + p.blockWidth())
                .getBytes(StandardCharsets.UTF_8);
    }
}
