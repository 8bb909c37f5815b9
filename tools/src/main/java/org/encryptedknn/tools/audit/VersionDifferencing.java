package org.encryptedknn.tools.audit;

import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;

/**
 * Version differencing (issue 15, "noise reuse across versions"). When the SAP nonce depends only on (_id, field,
 * epoch), two versions of one document carry the same noise λ, and anyone holding both (an old segment, a snapshot)
 * gets p₁ − p₂ = s·R(u₁ − u₂) exactly: the plaintext difference of the prefixes under the same rotation as the rest
 * of the store. Measured with the key holder's R and s as the oracle: the cosine of Rᵀ(p₁ − p₂)/s with the true
 * u₁ − u₂ (1 when the noise cancels), against a control in which the second version gets fresh noise.
 */
public final class VersionDifferencing {

    /** Cosines at or above this count as "the difference reveals the plaintext direction". */
    public static final double REVEALED = 0.999;

    /**
     * @param pairs            versions compared
     * @param meanCosine       mean cos(Rᵀ(p₁ − p₂), u₁ − u₂), versions as stored
     * @param revealed         fraction of pairs with that cosine ≥ {@link #REVEALED}
     * @param meanNormError    mean |‖p₁ − p₂‖/s − ‖u₁ − u₂‖| / ‖u₁ − u₂‖ (the server needs no R for this one)
     * @param controlCosine    mean cosine when the second version is encrypted with fresh noise
     * @param controlRevealed  fraction of control pairs ≥ {@link #REVEALED}
     */
    public record Result(
            int pairs,
            double meanCosine,
            double revealed,
            double meanNormError,
            double controlCosine,
            double controlRevealed) {}

    /** How a version of a document is stored. */
    @FunctionalInterface
    public interface Encryptor {
        EncryptedVector encrypt(float[] x, String docId);
    }

    private VersionDifferencing() {}

    /**
     * Encrypts {@code first[i]} and {@code second[i]} as two versions of document {@code ids[i]} with
     * {@code versions} (the audit passes the transform's document path, {@link VectorTransform#encryptDocument(float[],
     * String, String)}); the control encrypts the second version under another id. {@code plainPrefix*}: the
     * versions' prefixes u in the model frame (the public basis applied). {@code t} supplies the oracle R and s.
     */
    public static Result measure(
            VectorTransform t,
            Encryptor versions,
            float[][] first,
            float[][] second,
            float[][] plainPrefixFirst,
            float[][] plainPrefixSecond,
            String[] ids) {
        int n = first.length;
        double[] rotation = t.prefixRotation();
        int dp = plainPrefixFirst[0].length;
        double s = t.sap().scale();
        double cos = 0;
        double normErr = 0;
        int revealed = 0;
        double controlCos = 0;
        int controlRevealed = 0;
        for (int i = 0; i < n; i++) {
            EncryptedVector v1 = versions.encrypt(first[i], ids[i]);
            EncryptedVector v2 = versions.encrypt(second[i], ids[i]);
            EncryptedVector fresh = versions.encrypt(second[i], ids[i] + "#control");
            float[] du = new float[dp];
            for (int k = 0; k < dp; k++) {
                du[k] = plainPrefixFirst[i][k] - plainPrefixSecond[i][k];
            }
            double c = cosineOfDifference(rotation, dp, v1.prefix(), v2.prefix(), du);
            double cc = cosineOfDifference(rotation, dp, v1.prefix(), fresh.prefix(), du);
            cos += c;
            controlCos += cc;
            revealed += c >= REVEALED ? 1 : 0;
            controlRevealed += cc >= REVEALED ? 1 : 0;
            double dpNorm = Math.sqrt(Vectors.dist2(v1.prefix(), v2.prefix())) / s;
            double duNorm = Vectors.norm(du);
            normErr += Math.abs(dpNorm - duNorm) / duNorm;
        }
        return new Result(n, cos / n, revealed / (double) n, normErr / n, controlCos / n, controlRevealed / (double) n);
    }

    /** cos(Rᵀ(p₁ − p₂), Δu) with R row-major dp×dp. */
    static double cosineOfDifference(double[] rotation, int dp, float[] p1, float[] p2, float[] du) {
        float[] diff = new float[dp];
        for (int k = 0; k < dp; k++) {
            diff[k] = p1[k] - p2[k];
        }
        float[] back = Procrustes.applyTranspose(rotation, dp, diff);
        return Vectors.dot(back, du) / (Vectors.norm(back) * Vectors.norm(du));
    }
}
