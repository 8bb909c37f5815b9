package org.encryptedknn.tools.audit;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;

/**
 * Unlinkability across a re-key (SHARD §7.6, table 14): the same documents stored under two epochs; for mated
 * pairs (i, i') and non-mated pairs (i, j'), a linking score; AUC ≈ 0.5 means the score cannot tell them apart.
 * Besides SHARD's scores (residual inner product, prefix distance) it measures the invariants an orthogonal
 * re-key cannot change: the residual norm ‖z‖ = ‖r‖, the public cell id, the prefix norm and, through a PCA
 * alignment of the two prefix clouds, the prefix geometry itself.
 */
public final class RekeyLinkage {

    /** One epoch's stored view. */
    public record Epoch(float[][] p, float[][] z, int[] cell) {

        /** The stored view of these records. */
        public static Epoch of(EncryptedVector[] records) {
            int n = records.length;
            float[][] p = new float[n][];
            float[][] z = new float[n][];
            int[] cell = new int[n];
            for (int i = 0; i < n; i++) {
                p[i] = records[i].prefix();
                z[i] = records[i].keyedResidual();
                cell[i] = records[i].cell();
            }
            return new Epoch(p, z, cell);
        }
    }

    /** The same documents stored before and after a re-key. */
    public record Rekeyed(Epoch before, Epoch after) {}

    /**
     * AUC per score, plus R@1 of the linkers: same cell + nearest ‖z‖, nearest ‖z‖ alone (no cell), within-cell
     * Gram votes ({@link GramFingerprint#link}), PCA alignment of the prefix clouds.
     */
    public record Result(
            Map<String, Double> auc,
            double r1CellAndNorm,
            double r1Norm,
            double r1Gram,
            double r1PrefixPca,
            int documents,
            int nonMatedPerDoc) {}

    /** The name of the prefix-norm score in {@link Result#auc()}. */
    public static final String PREFIX_NORM_SCORE = "−abs(norm p/median − norm p'/median') (prefix norm)";

    /** Tolerance of the Gram-vote linker on pair values (float32 records: errors ≈ 1e-7). */
    public static final double GRAM_TOLERANCE = 1e-5;

    private RekeyLinkage() {}

    /**
     * Encrypts the first {@code n} documents under {@code from} (document ids from {@code ids}) and re-keys each
     * record into {@code to} with {@link VectorTransform#rekey}.
     */
    public static Rekeyed encryptAndRekey(
            VectorTransform from, VectorTransform to, float[][] docs, int n, IntFunction<String> ids, String field) {
        EncryptedVector[] before = new EncryptedVector[n];
        EncryptedVector[] after = new EncryptedVector[n];
        for (int i = 0; i < n; i++) {
            String id = ids.apply(i);
            before[i] = from.encryptDocument(docs[i], id, field);
            after[i] = to.rekey(from, before[i], id, field);
        }
        return new Rekeyed(Epoch.of(before), Epoch.of(after));
    }

    public static Result measure(Epoch a, Epoch b, int nonMatedPerDoc, long seed) {
        int n = a.p().length;
        SplittableRandom random = new SplittableRandom(seed);
        int[] js = new int[n * nonMatedPerDoc];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < nonMatedPerDoc; t++) {
                int j;
                do {
                    j = random.nextInt(n);
                } while (j == i);
                js[i * nonMatedPerDoc + t] = j;
            }
        }
        double medA = medianNorm(a.p());
        double medB = medianNorm(b.p());
        Map<String, Double> auc = new LinkedHashMap<>();
        List<String> names = List.of(
                "abs cos(z, z') (SHARD)",
                "−dist(p, p') (raw prefix distance)",
                "−abs(norm z − norm z') (residual norm)",
                "[c = c'] (public cell id)",
                PREFIX_NORM_SCORE);
        for (int s = 0; s < names.size(); s++) {
            double[] pos = new double[n];
            double[] neg = new double[js.length];
            for (int i = 0; i < n; i++) {
                pos[i] = score(s, a, b, i, i, medA, medB);
                for (int t = 0; t < nonMatedPerDoc; t++) {
                    neg[i * nonMatedPerDoc + t] = score(s, a, b, i, js[i * nonMatedPerDoc + t], medA, medB);
                }
            }
            auc.put(names.get(s), Metrics.auc(pos, neg));
        }
        // linker 1: same cell and nearest residual norm
        long hits1 = IntStream.range(0, n)
                .parallel()
                .filter(i -> {
                    double zi = Vectors.norm(a.z()[i]);
                    int best = -1;
                    double bestD = Double.POSITIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        if (b.cell()[j] != a.cell()[i]) {
                            continue;
                        }
                        double dd = Math.abs(zi - Vectors.norm(b.z()[j]));
                        if (dd < bestD) {
                            bestD = dd;
                            best = j;
                        }
                    }
                    return best == i;
                })
                .count();
        // linker 2: PCA alignment of the two prefix clouds (no anchors), nearest neighbour
        int dp = a.p()[0].length;
        Pca.Frame fa = Pca.fit(a.p(), dp);
        Pca.Frame fb = Pca.fit(b.p(), dp);
        int[] signs = Pca.momentSigns(fa, fb);
        double scale = Math.sqrt(fb.eigenvalues()[0] / fa.eigenvalues()[0]);
        float[][] ca = new float[n][];
        float[][] cb = new float[n][];
        for (int i = 0; i < n; i++) {
            ca[i] = fa.project(a.p()[i]);
            float[] y = fb.project(b.p()[i]);
            for (int r = 0; r < dp; r++) {
                y[r] = (float) (signs[r] * y[r] / scale);
            }
            cb[i] = y;
        }
        long hits2 = IntStream.range(0, n)
                .parallel()
                .filter(i -> Vectors.nearest(cb[i], ca) == i)
                .count();
        double r1Norm =
                NormReidentification.r1ByNearest(NormReidentification.norms(b.z()), NormReidentification.norms(a.z()));
        double r1Gram = GramFingerprint.link(a.z(), a.cell(), b.z(), b.cell(), GRAM_TOLERANCE);
        return new Result(auc, hits1 / (double) n, r1Norm, r1Gram, hits2 / (double) n, n, nonMatedPerDoc);
    }

    private static double score(int s, Epoch a, Epoch b, int i, int j, double medA, double medB) {
        return switch (s) {
            case 0 -> Math.abs(Vectors.dot(a.z()[i], b.z()[j])) / (Vectors.norm(a.z()[i]) * Vectors.norm(b.z()[j]));
            case 1 -> -Math.sqrt(Vectors.dist2(a.p()[i], b.p()[j]));
            case 2 -> -Math.abs(Vectors.norm(a.z()[i]) - Vectors.norm(b.z()[j]));
            case 3 -> a.cell()[i] == b.cell()[j] ? 1 : 0;
            default -> -Math.abs(Vectors.norm(a.p()[i]) / medA - Vectors.norm(b.p()[j]) / medB);
        };
    }

    static double medianNorm(float[][] xs) {
        double[] n = new double[xs.length];
        for (int i = 0; i < xs.length; i++) {
            n[i] = Vectors.norm(xs[i]);
        }
        Arrays.sort(n);
        return n[n.length / 2];
    }

    /** SHARD's score only (mated vs non-mated |cos(z, z')|): for tests. */
    public static double residualAuc(Epoch a, Epoch b, int nonMatedPerDoc, long seed) {
        return measure(a, b, nonMatedPerDoc, seed).auc().values().iterator().next();
    }
}
