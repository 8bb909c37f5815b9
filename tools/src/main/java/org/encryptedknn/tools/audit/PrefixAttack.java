package org.encryptedknn.tools.audit;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Attacks on the stored DCPE prefix p = s·R u + λ (DCPE overview, "Known Sample" and "Known Input–Output";
 * SHARD §7.7).
 * <ul>
 *   <li>PCA known-sample: the attacker computes the principal frame of same-distribution plaintext samples and of
 *       the stored prefixes, matches axes by eigenvalue order, fixes signs by moments (or by a few anchors),
 *       estimates s from the top eigenvalue ratio, and re-identifies stored records against a gallery of plaintexts
 *       (an overlapping reference corpus).</li>
 *   <li>Known-plaintext Procrustes on the prefix (the single global prefix key, recovered from ≈ d_pub anchors).</li>
 * </ul>
 */
public final class PrefixAttack {

    /** Result of the PCA known-sample attack. */
    public record PcaResult(
            double r1Moments,
            double r1Anchors,
            int signAnchors,
            double cosMoments,
            double cosAnchors,
            double scaleEstimate,
            int sample,
            int gallery,
            int victims) {}

    private PrefixAttack() {}

    /**
     * @param sample     the attacker's plaintext sample (normalized), same distribution as the store
     * @param stored     stored prefixes p (the whole store, for the ciphertext frame)
     * @param gallery    plaintexts of the stored documents (normalized), gallery[i] ↔ stored[i]
     * @param victims    how many stored records to re-identify
     * @param signAnchors known pairs used by the anchored variant to fix signs (taken outside the victims)
     */
    public static PcaResult pca(
            float[][] sample, float[][] stored, float[][] gallery, int victims, int signAnchors, long seed) {
        int dp = stored[0].length;
        Pca.Frame plain = Pca.fit(sample, dp);
        Pca.Frame cipher = Pca.fit(stored, dp);
        double scale = Math.sqrt(cipher.eigenvalues()[0] / plain.eigenvalues()[0]);
        int n = stored.length;
        SplittableRandom random = new SplittableRandom(seed);
        int[] perm = Sampling.permutation(n, random);
        int v = Math.min(victims, n - signAnchors);
        float[][] galleryCoords = new float[n][];
        float[][] cipherCoords = new float[n][];
        IntStream.range(0, n).parallel().forEach(i -> {
            galleryCoords[i] = plain.project(gallery[i]);
            cipherCoords[i] = cipher.project(stored[i]);
        });
        int[] moments = Pca.momentSigns(plain, cipher);
        float[][] aPlain = new float[signAnchors][];
        float[][] aCipher = new float[signAnchors][];
        for (int a = 0; a < signAnchors; a++) {
            aPlain[a] = gallery[perm[v + a]];
            aCipher[a] = stored[perm[v + a]];
        }
        int[] anchored = Pca.anchorSigns(plain, cipher, aPlain, aCipher);
        double[] r1 = new double[2];
        double[] cos = new double[2];
        int[][] signs = {moments, anchored};
        for (int variant = 0; variant < 2; variant++) {
            int[] s = signs[variant];
            double[] cosAcc = new double[v];
            long hits = IntStream.range(0, v)
                    .parallel()
                    .filter(t -> {
                        int idx = perm[t];
                        float[] est = new float[dp];
                        for (int r = 0; r < dp; r++) {
                            est[r] = (float) (s[r] * cipherCoords[idx][r] / scale);
                        }
                        cosAcc[t] = Vectors.dot(est, galleryCoords[idx])
                                / (Vectors.norm(est) * Vectors.norm(galleryCoords[idx]));
                        return Vectors.nearest(est, galleryCoords) == idx;
                    })
                    .count();
            r1[variant] = hits / (double) v;
            double c = 0;
            for (double x : cosAcc) {
                c += x;
            }
            cos[variant] = c / v;
        }
        return new PcaResult(r1[0], r1[1], signAnchors, cos[0], cos[1], scale, sample.length, n, v);
    }

    /**
     * Re-identification after the key holder's exact alignment (R and s known): what the SAP noise alone leaves.
     * {@code exactStored[i]} = Rᵀ p_i / s, {@code exactPlain[i]} = u_i (both in the model's prefix frame).
     */
    public static double oracleR1(float[][] exactStored, float[][] exactPlain, int victims, long seed) {
        int n = exactStored.length;
        int[] perm = Sampling.permutation(n, new SplittableRandom(seed));
        int v = Math.min(victims, n);
        long hits = IntStream.range(0, v)
                .parallel()
                .filter(t -> Vectors.nearest(exactStored[perm[t]], exactPlain) == perm[t])
                .count();
        return hits / (double) v;
    }

    /**
     * Known-plaintext Procrustes on the prefix: the attacker's frame is its own PCA frame of the plaintext sample
     * (top d_pub axes); anchors (x_a, p_a) give Q̂ with p ≈ ŝ Q u; victims are re-identified against the gallery.
     */
    public static double[] procrustes(
            float[][] sample, float[][] stored, float[][] gallery, int[] grid, int victims, long seed) {
        int dp = stored[0].length;
        Pca.Frame plain = Pca.fit(sample, dp);
        int n = stored.length;
        int[] perm = Sampling.permutation(n, new SplittableRandom(seed));
        int v = Math.min(victims, n / 4);
        float[][] galleryCoords = new float[n][];
        IntStream.range(0, n).parallel().forEach(i -> galleryCoords[i] = plain.project(gallery[i]));
        double[] out = new double[grid.length];
        Procrustes.Accumulator acc = new Procrustes.Accumulator(dp);
        int added = 0;
        double normRatio = 0;
        for (int p = 0; p < grid.length; p++) {
            int m = Math.min(grid[p], n - v);
            for (; added < m; added++) {
                int a = perm[v + added];
                acc.add(galleryCoords[a], stored[a]);
                normRatio += Vectors.norm(stored[a]) / Math.max(1e-12, Vectors.norm(galleryCoords[a]));
            }
            double[] q = acc.solve();
            double scale = normRatio / Math.max(1, added);
            long hits = IntStream.range(0, v)
                    .parallel()
                    .filter(t -> {
                        int idx = perm[t];
                        float[] est = Procrustes.applyTranspose(q, dp, stored[idx]);
                        for (int r = 0; r < dp; r++) {
                            est[r] /= (float) scale;
                        }
                        return Vectors.nearest(est, galleryCoords) == idx;
                    })
                    .count();
            out[p] = hits / (double) v;
        }
        return out;
    }
}
