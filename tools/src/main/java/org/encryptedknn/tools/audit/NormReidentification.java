package org.encryptedknn.tools.audit;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Re-identification by norms alone (issue 15, "norm channel"). A cell key is orthogonal, so ‖z‖ = ‖r‖ exactly; the
 * prefix keeps ‖p‖ ≈ s‖u‖ up to the SAP noise. An attacker holding every stored record, the plaintext of all
 * documents and the public basis computes ‖r‖ and ‖u‖ of each plaintext and matches each record to the plaintext
 * with the nearest norm. No anchor, no key; chance is 1/N.
 */
public final class NormReidentification {

    /**
     * @param r1Residual    R@1 of ‖z_i‖ against the plaintext ‖r_a‖
     * @param r1Prefix      R@1 of ‖p_i‖/ŝ against the plaintext ‖u_a‖
     * @param scaleEstimate ŝ = median ‖p‖ / median ‖u‖ (no pairing needed)
     * @param records       N, the gallery size (chance = 1/N)
     */
    public record Result(double r1Residual, double r1Prefix, double scaleEstimate, int records) {}

    private NormReidentification() {}

    /**
     * Row i of the stored arrays is the record of plaintext i (for scoring only; the attacker does not use the
     * pairing). {@code plainPrefix}, {@code plainResidual}: the plaintexts projected on the public basis.
     */
    public static Result measure(float[][] p, float[][] z, float[][] plainPrefix, float[][] plainResidual) {
        double[] zNorm = norms(z);
        double[] rNorm = norms(plainResidual);
        double[] pNorm = norms(p);
        double[] uNorm = norms(plainPrefix);
        double scale = median(pNorm) / median(uNorm);
        double[] pScaled = Arrays.stream(pNorm).map(v -> v / scale).toArray();
        return new Result(r1ByNearest(zNorm, rNorm), r1ByNearest(pScaled, uNorm), scale, z.length);
    }

    /**
     * Fraction of i whose nearest {@code reference} value (by absolute difference) is {@code reference[i]}: the R@1
     * of linking by one scalar. Ties count as misses unless i comes first among the tied values.
     */
    public static double r1ByNearest(double[] stored, double[] reference) {
        int n = reference.length;
        Integer[] boxed = new Integer[n];
        for (int i = 0; i < n; i++) {
            boxed[i] = i;
        }
        Arrays.sort(boxed, (a, b) -> Double.compare(reference[a], reference[b]));
        double[] sorted = new double[n];
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = boxed[i];
            sorted[i] = reference[order[i]];
        }
        long hits = IntStream.range(0, stored.length)
                .parallel()
                .filter(i -> {
                    int at = Arrays.binarySearch(sorted, stored[i]);
                    int pos = at >= 0 ? at : -at - 1;
                    int best = -1;
                    double bestD = Double.POSITIVE_INFINITY;
                    for (int k = Math.max(0, pos - 1); k <= Math.min(n - 1, pos); k++) {
                        double dd = Math.abs(sorted[k] - stored[i]);
                        if (dd < bestD) {
                            bestD = dd;
                            best = k;
                        }
                    }
                    return best >= 0 && order[best] == i;
                })
                .count();
        return hits / (double) stored.length;
    }

    static double[] norms(float[][] xs) {
        double[] out = new double[xs.length];
        for (int i = 0; i < xs.length; i++) {
            out[i] = Vectors.norm(xs[i]);
        }
        return out;
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
