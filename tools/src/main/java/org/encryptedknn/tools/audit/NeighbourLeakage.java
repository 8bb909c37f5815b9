package org.encryptedknn.tools.audit;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * What the storage tier can compute about neighbours (SHARD §7.6, ppRAG §V-3): NN-overlap@k between the true
 * full-space top-k of a probe document and the top-k the server derives from (a) prefix distances between stored
 * p's, (b) the unnoised prefix (β = 0), (c) same-cell keyed-residual inner products ⟨z_i, z_j⟩ (keys cancel inside
 * a cell), (d) both combined with an estimated SAP scale; plus the DB↔DB and query↔DB distance-comparison flip
 * rates against the plaintext prefix.
 */
public final class NeighbourLeakage {

    /** Server-side views of a store. {@code plainPrefix} is u (or any isometric image of it), for the β = 0 row. */
    public record Store(float[][] plain, float[][] stored, float[][] plainPrefix, float[][] z, int[] cell) {}

    public record Result(
            double prefixOverlap,
            double unnoisedOverlap,
            double sameCellOverlap,
            double withinCellFraction,
            double combinedOverlap,
            double residualGraph,
            double scaleEstimateRatio,
            int probes,
            int k) {}

    public record Flips(double dbRandom, double dbNear, double queryRandom, double queryNear) {}

    private NeighbourLeakage() {}

    /** Exact top-k neighbours of each probe by full-space inner product (vectors normalized), excluding itself. */
    public static int[][] trueNeighbours(float[][] plain, int[] probes, int k) {
        int[][] out = new int[probes.length][];
        IntStream.range(0, probes.length)
                .parallel()
                .forEach(t -> out[t] = Vectors.topK(Vectors.dots(plain[probes[t]], plain), k, probes[t]));
        return out;
    }

    /**
     * @param sapScale the true s (only to report the server's estimate ŝ/s; NaN if unknown)
     */
    public static Result measure(Store s, int[] probes, int[][] truth, int k, double sapScale) {
        int n = s.plain().length;
        // ŝ: with cosine vectors ‖u‖² + ‖r‖² = 1 and ‖z‖ = ‖r‖, so ‖p‖² ≈ s²(1 − ‖z‖²) per record.
        double[] est = new double[n];
        for (int i = 0; i < n; i++) {
            double zz = Vectors.dot(s.z()[i], s.z()[i]);
            est[i] = Math.sqrt(Vectors.dot(s.stored()[i], s.stored()[i]) / Math.max(1e-9, 1 - zz));
        }
        double[] sorted = est.clone();
        Arrays.sort(sorted);
        double sHat = sorted[n / 2];
        double inv2 = 1 / (sHat * sHat);
        double[] prefix = new double[probes.length];
        double[] unnoised = new double[probes.length];
        double[] sameCell = new double[probes.length];
        double[] within = new double[probes.length];
        double[] combined = new double[probes.length];
        double[] resGraph = new double[probes.length];
        IntStream.range(0, probes.length).parallel().forEach(t -> {
            int i = probes[t];
            int[] tr = truth[t];
            prefix[t] = Metrics.overlap(tr, Vectors.topK(Vectors.negDist2(s.stored()[i], s.stored()), k, i), k);
            unnoised[t] = s.plainPrefix() == null
                    ? Double.NaN
                    : Metrics.overlap(tr, Vectors.topK(Vectors.negDist2(s.plainPrefix()[i], s.plainPrefix()), k, i), k);
            double[] cellScores = new double[n];
            double[] comb = new double[n];
            double[] trueRes = new double[n];
            int ci = s.cell()[i];
            int in = 0;
            for (int j = 0; j < n; j++) {
                double pp = Vectors.dot(s.stored()[i], s.stored()[j]) * inv2;
                if (s.cell()[j] == ci) {
                    double zz = Vectors.dot(s.z()[i], s.z()[j]);
                    cellScores[j] = zz;
                    comb[j] = pp + zz;
                } else {
                    cellScores[j] = Double.NaN;
                    comb[j] = pp;
                }
            }
            for (int j : tr) {
                if (s.cell()[j] == ci) {
                    in++;
                }
            }
            int[] cellTop = Vectors.topK(cellScores, k, i);
            sameCell[t] = Metrics.overlap(tr, cellTop, k);
            within[t] = in / (double) k;
            combined[t] = Metrics.overlap(tr, Vectors.topK(comb, k, i), k);
            if (s.plainPrefix() != null) {
                // the true residual graph: ⟨r_i, r_j⟩ = ⟨x_i, x_j⟩ − ⟨u_i, u_j⟩ (u is known up to an isometry)
                for (int j = 0; j < n; j++) {
                    trueRes[j] = Vectors.dot(s.plain()[i], s.plain()[j])
                            - Vectors.dot(s.plainPrefix()[i], s.plainPrefix()[j]);
                }
                resGraph[t] = Metrics.overlap(Vectors.topK(trueRes, k, i), cellTop, k);
            } else {
                resGraph[t] = Double.NaN;
            }
        });
        return new Result(
                mean(prefix),
                mean(unnoised),
                mean(sameCell),
                mean(within),
                mean(combined),
                mean(resGraph),
                Double.isNaN(sapScale) ? Double.NaN : sHat / sapScale,
                probes.length,
                k);
    }

    /**
     * Distance-comparison flip rates against the plaintext prefix: for an anchor a (a stored record, or a query)
     * and two stored records j, k, a flip is sign(‖a−p_j‖ − ‖a−p_k‖) ≠ sign(‖u_a−u_j‖ − ‖u_a−u_k‖). "near": j, k
     * drawn from the anchor's 100 nearest plaintext prefixes (where comparisons decide rankings).
     */
    public static Flips flips(
            float[][] stored,
            float[][] plainPrefix,
            int[] probes,
            float[][] queryCipher,
            float[][] queryPlain,
            int pairs,
            long seed) {
        double[] db = flipRate(stored, plainPrefix, probes, null, null, pairs, seed);
        double[] q = queryCipher == null
                ? new double[] {Double.NaN, Double.NaN}
                : flipRate(stored, plainPrefix, null, queryCipher, queryPlain, pairs, seed + 1);
        return new Flips(db[0], db[1], q[0], q[1]);
    }

    private static double[] flipRate(
            float[][] stored, float[][] plain, int[] probes, float[][] qc, float[][] qp, int pairs, long seed) {
        int n = stored.length;
        int anchors = probes != null ? probes.length : qc.length;
        long[] counts = new long[4];
        double[][] parts = new double[anchors][4];
        IntStream.range(0, anchors).parallel().forEach(t -> {
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + t);
            float[] ac = probes != null ? stored[probes[t]] : qc[t];
            float[] ap = probes != null ? plain[probes[t]] : qp[t];
            int self = probes != null ? probes[t] : -1;
            int[] near = Vectors.topK(Vectors.negDist2(ap, plain), 100, self);
            for (int p = 0; p < pairs; p++) {
                int j = random.nextInt(n);
                int k = random.nextInt(n);
                if (j != k && j != self && k != self) {
                    parts[t][0] += flip(ac, ap, stored, plain, j, k) ? 1 : 0;
                    parts[t][1] += 1;
                }
                int a = near[random.nextInt(near.length)];
                int b = near[random.nextInt(near.length)];
                if (a != b) {
                    parts[t][2] += flip(ac, ap, stored, plain, a, b) ? 1 : 0;
                    parts[t][3] += 1;
                }
            }
        });
        double[] sum = new double[4];
        for (double[] p : parts) {
            for (int i = 0; i < 4; i++) {
                sum[i] += p[i];
            }
        }
        return new double[] {sum[0] / sum[1], sum[2] / sum[3]};
    }

    private static boolean flip(float[] ac, float[] ap, float[][] stored, float[][] plain, int j, int k) {
        double c = Vectors.dist2(ac, stored[j]) - Vectors.dist2(ac, stored[k]);
        double p = Vectors.dist2(ap, plain[j]) - Vectors.dist2(ap, plain[k]);
        return Math.signum(c) != Math.signum(p);
    }

    static double mean(double[] xs) {
        double s = 0;
        for (double x : xs) {
            s += x;
        }
        return s / xs.length;
    }
}
