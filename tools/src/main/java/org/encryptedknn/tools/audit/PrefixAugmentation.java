package org.encryptedknn.tools.audit;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;

/**
 * The prefix-norm channel and the recall of one prefix layout (docs/design.md §2), measured on the product's transform:
 * the documents encrypted under the model ({@link VectorTransform#encryptDocument}) and re-keyed to its next epoch
 * ({@link VectorTransform#rekey}), the queries encrypted under it. For a model of the plain layout (SAP(R u), the
 * models fitted before augmentation) ‖p‖ ≈ s‖u‖ differs per record; for the augmented layout (SAP(R [u; t′])) every
 * document prefix has norm s·B up to the SAP noise. Figures: recall@10 of the exact rerank of the brute-force stage-1
 * top K on the stored prefixes; the prefix norm ‖p‖/ŝ against the plaintext ‖u‖ (R@1, ŝ = median ‖p‖ / median ‖u‖);
 * across the re-key, nearest ‖p′‖/ŝ′ to ‖p‖/ŝ (R@1) and the prefix-norm AUC of {@link RekeyLinkage}.
 */
public final class PrefixAugmentation {

    /** One layout's figures; {@code recall[k]} at the k-th stage-1 candidate count. */
    public record Variant(
            PrefixLayout layout, double[] recall, double normR1, double rekeyNormR1, double rekeyNormAuc) {}

    private static final String FIELD = "embedding";

    private PrefixAugmentation() {}

    /**
     * @param docs      the documents (normalized for a cosine model)
     * @param uNorm     ‖u‖ of each document, the plaintext prefix norm the attacker computes with the public basis
     * @param queries   held-out queries
     * @param truth     the exact plaintext top 10 of each query among the documents
     * @param ks        stage-1 candidate counts K
     * @param rekeyDocs documents (the first ones) whose copies before and after the re-key give the AUC
     */
    public static Variant measure(
            EncryptionModel model,
            KeyDerivation keys,
            float[][] docs,
            double[] uNorm,
            float[][] queries,
            int[][] truth,
            int[] ks,
            int rekeyDocs,
            long seed) {
        int n = docs.length;
        EncryptedVector[] stored = new EncryptedVector[n];
        EncryptedVector[] rekeyed = new EncryptedVector[n];
        float[][] qp = new float[queries.length][];
        try (VectorTransform t = new VectorTransform(model, keys);
                VectorTransform next = new VectorTransform(model.rotated(), keys)) {
            for (int i = 0; i < n; i++) {
                String id = Integer.toString(i);
                stored[i] = t.encryptDocument(docs[i], id, FIELD);
                rekeyed[i] = next.rekey(t, stored[i], id, FIELD);
            }
            for (int i = 0; i < queries.length; i++) {
                qp[i] = t.encryptQuery(queries[i]).prefix();
            }
        }
        RekeyLinkage.Epoch before = RekeyLinkage.Epoch.of(stored);
        RekeyLinkage.Epoch after = RekeyLinkage.Epoch.of(rekeyed);
        double[] recall = recall(before.p(), qp, docs, queries, truth, ks);
        double[] p = scaled(NormReidentification.norms(before.p()), uNorm);
        double[] p2 = scaled(NormReidentification.norms(after.p()), uNorm);
        int m = Math.min(rekeyDocs, n);
        double auc = RekeyLinkage.measure(
                        new RekeyLinkage.Epoch(
                                Arrays.copyOf(before.p(), m),
                                Arrays.copyOf(before.z(), m),
                                Arrays.copyOf(before.cell(), m)),
                        new RekeyLinkage.Epoch(
                                Arrays.copyOf(after.p(), m),
                                Arrays.copyOf(after.z(), m),
                                Arrays.copyOf(after.cell(), m)),
                        5,
                        seed)
                .auc()
                .get(RekeyLinkage.PREFIX_NORM_SCORE);
        return new Variant(
                model.prefixLayout(),
                recall,
                NormReidentification.r1ByNearest(p, uNorm),
                NormReidentification.r1ByNearest(p2, p),
                auc);
    }

    /** recall@10 of the exact rerank of the L2-nearest K stored prefixes, per K. */
    private static double[] recall(
            float[][] p, float[][] qp, float[][] docs, float[][] queries, int[][] truth, int[] ks) {
        int kMax = Arrays.stream(ks).max().orElseThrow();
        double[][] parts = new double[queries.length][ks.length];
        IntStream.range(0, queries.length).parallel().forEach(i -> {
            int[] cand = Vectors.topK(Vectors.negDist2(qp[i], p), kMax, -1);
            for (int k = 0; k < ks.length; k++) {
                int[] c = Arrays.copyOf(cand, Math.min(ks[k], cand.length));
                double[] sc = new double[c.length];
                for (int j = 0; j < c.length; j++) {
                    sc[j] = Vectors.dot(queries[i], docs[c[j]]);
                }
                int[] top = Vectors.topK(sc, 10, -1);
                int[] ids = new int[top.length];
                for (int j = 0; j < top.length; j++) {
                    ids[j] = c[top[j]];
                }
                parts[i][k] = Metrics.recall(truth[i], ids, 10);
            }
        });
        double[] recall = new double[ks.length];
        for (double[] r : parts) {
            for (int k = 0; k < ks.length; k++) {
                recall[k] += r[k] / queries.length;
            }
        }
        return recall;
    }

    /** ‖p‖/ŝ with ŝ = median ‖p‖ / median ‖u‖ (the attacker's scale estimate). */
    private static double[] scaled(double[] pNorm, double[] uNorm) {
        double s = NormReidentification.median(pNorm) / NormReidentification.median(uNorm);
        return Arrays.stream(pNorm).map(v -> v / s).toArray();
    }
}
