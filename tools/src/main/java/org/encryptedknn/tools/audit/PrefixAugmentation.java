package org.encryptedknn.tools.audit;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.encryptedknn.prefix.PrefixNonces;
import org.encryptedknn.prefix.ScaleAndPerturb;

/**
 * Prototype of the prefix augmentation of issue 15 (not in the product): SAP on [u; t′] with t′ = √(U² − ‖u‖²) for
 * documents and [u_q; 0] for queries, so every document prefix has the norm U before the noise and the L2 order of the
 * prefixes is the inner-product order on u: ‖[u_q; 0] − [u; t′]‖² = ‖u_q‖² + U² − 2⟨u_q, u⟩. Measured against SAP on u
 * (today's prefix) with the same β, a fresh random scale s ∈ [1, 2) and rotation per variant: recall@10 of the exact
 * rerank of the brute-force top K, and the prefix-norm channel, within one epoch (‖p‖/ŝ against the plaintext ‖u‖) and
 * across two independent encryptions (two epochs: nearest ‖p‖/ŝ).
 */
public final class PrefixAugmentation {

    /** One variant's figures. */
    public record Variant(double[] recall, double normR1, double normLinkR1) {}

    /** recall@10 at each K of {@code ks}, plain and augmented. */
    public record Result(int[] ks, Variant plain, Variant augmented, double bound) {}

    private PrefixAugmentation() {}

    /**
     * What both variants are measured on.
     *
     * @param u       document prefixes (the plaintext projected on the top d_pub directions)
     * @param uq      query prefixes
     * @param docs    documents (the exact rerank score is ⟨x_q, x⟩)
     * @param queries queries
     * @param truth   the exact plaintext top 10 of each query
     * @param ks      stage-1 candidate counts K
     * @param beta    absolute SAP β
     */
    public record Inputs(
            float[][] u, float[][] uq, float[][] docs, float[][] queries, int[][] truth, int[] ks, double beta) {}

    public static Result measure(Inputs in, long seed) {
        double bound = 0;
        for (float[] x : in.u()) {
            bound = Math.max(bound, Vectors.norm(x));
        }
        SplittableRandom random = new SplittableRandom(seed);
        Variant plain = variant(in, -1, random);
        Variant augmented = variant(in, bound, random);
        return new Result(in.ks(), plain, augmented, bound);
    }

    /** {@code bound} U &lt; 0: the plain prefix u. */
    private static Variant variant(Inputs in, double bound, SplittableRandom random) {
        float[][] du = bound < 0 ? in.u() : augment(in.u(), bound);
        float[][] qu = bound < 0 ? in.uq() : augment(in.uq(), -1);
        int[] ks = in.ks();
        float[][] queries = in.queries();
        int dim = du[0].length;
        Keys epoch1 = Keys.fresh(dim, random);
        float[][] p = encrypt(du, epoch1, in.beta(), false);
        float[][] p2 = encrypt(du, Keys.fresh(dim, random), in.beta(), false); // a second epoch: other s, R and noise
        float[][] qp = encrypt(qu, epoch1, in.beta(), true);
        int kMax = Arrays.stream(ks).max().orElseThrow();
        double[][] parts = new double[queries.length][ks.length];
        IntStream.range(0, queries.length).parallel().forEach(i -> {
            int[] cand = Vectors.topK(Vectors.negDist2(qp[i], p), kMax, -1);
            for (int k = 0; k < ks.length; k++) {
                int[] c = Arrays.copyOf(cand, Math.min(ks[k], cand.length));
                double[] sc = new double[c.length];
                for (int j = 0; j < c.length; j++) {
                    sc[j] = Vectors.dot(queries[i], in.docs()[c[j]]);
                }
                int[] top = Vectors.topK(sc, 10, -1);
                int[] ids = new int[top.length];
                for (int j = 0; j < top.length; j++) {
                    ids[j] = c[top[j]];
                }
                parts[i][k] = Metrics.recall(in.truth()[i], ids, 10);
            }
        });
        double[] recall = new double[ks.length];
        for (double[] r : parts) {
            for (int k = 0; k < ks.length; k++) {
                recall[k] += r[k] / queries.length;
            }
        }
        double[] uNorm = NormReidentification.norms(in.u());
        double[] pNorm = scaled(NormReidentification.norms(p), uNorm);
        double[] p2Norm = scaled(NormReidentification.norms(p2), uNorm);
        return new Variant(
                recall,
                NormReidentification.r1ByNearest(pNorm, uNorm),
                NormReidentification.r1ByNearest(p2Norm, pNorm));
    }

    /** [x; √(U² − ‖x‖²)] for documents, [x; 0] for queries ({@code bound} &lt; 0). */
    static float[][] augment(float[][] xs, double bound) {
        float[][] out = new float[xs.length][];
        for (int i = 0; i < xs.length; i++) {
            out[i] = Arrays.copyOf(xs[i], xs[i].length + 1);
            if (bound >= 0) {
                out[i][xs[i].length] = (float) Math.sqrt(Math.max(0, bound * bound - Vectors.dot(xs[i], xs[i])));
            }
        }
        return out;
    }

    /** ‖p‖/ŝ with ŝ = median ‖p‖ / median ‖u‖ (the attacker's scale estimate). */
    private static double[] scaled(double[] pNorm, double[] uNorm) {
        double s = NormReidentification.median(pNorm) / NormReidentification.median(uNorm);
        return Arrays.stream(pNorm).map(v -> v / s).toArray();
    }

    /** One epoch's prefix keys: SAP PRF key, scale s ∈ [1, 2), rotation R. */
    private record Keys(byte[] prf, double scale, double[] rotation, int dim) {

        static Keys fresh(int dim, SplittableRandom random) {
            byte[] prf = new byte[32];
            random.nextBytes(prf);
            return new Keys(prf, 1 + random.nextDouble(), Procrustes.randomOrthogonal(dim, random), dim);
        }
    }

    /** SAP_DB (or SAP_Q) of R x under {@code keys}, a random nonce per vector. */
    private static float[][] encrypt(float[][] xs, Keys keys, double beta, boolean query) {
        float[][] out = new float[xs.length][];
        try (ScaleAndPerturb sap = new ScaleAndPerturb(keys.prf(), keys.scale(), beta, keys.dim())) {
            for (int i = 0; i < xs.length; i++) {
                float[] rx = Procrustes.apply(keys.rotation(), keys.dim(), xs[i]);
                out[i] = query
                        ? sap.encryptQuery(rx, PrefixNonces.random())
                        : sap.encryptDocument(rx, PrefixNonces.random());
            }
        }
        return out;
    }
}
