package org.encryptedknn.tools.audit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

/**
 * Known-plaintext alignment of the keyed residual (SHARD §7.1, §7.5, tables 5, 11, 12). The attacker holds m
 * anchor pairs (r_i, z_i) — the document's residual in its own frame and the stored keyed residual — and fits
 * orthogonal maps by Procrustes; it then maps held-out stored residuals back (r̂ = Q̂ᵀ z) and re-identifies them
 * against a gallery of native residuals (R@1). Cells are public, so the strong diffuse attacker fits one map per
 * cell from the anchors that fall in it; the weak one fits one global map over all anchors.
 */
public final class AnchorAttack {

    /** Inputs: the attacker's native residuals r (its frame), stored z, public cells. */
    public record Data(float[][] r, float[][] z, int[] cell, int cells) {
        public int size() {
            return r.length;
        }

        public int dimension() {
            return r[0].length;
        }

        public int[] cellSizes() {
            int[] s = new int[cells];
            for (int c : cell) {
                s[c]++;
            }
            return s;
        }
    }

    /**
     * One R@1-vs-anchors curve.
     *
     * @param recovered fraction of victims whose native residual came back exactly (cos(Q̂ᵀz, r) ≥ {@link #RECOVERED_COSINE})
     */
    public record Curve(String label, int[] anchors, double[] r1, double[] recovered) {
        public double m50() {
            return Metrics.threshold(anchors, r1, 0.5);
        }

        /** Smallest anchor count at which at least half of the victims' residuals came out exactly (NaN if never). */
        public double mKey() {
            for (int i = 0; i < anchors.length; i++) {
                if (recovered[i] >= 0.5) {
                    return anchors[i];
                }
            }
            return Double.NaN;
        }

        public double maxAnchors() {
            return anchors.length == 0 ? 0 : anchors[anchors.length - 1];
        }
    }

    private AnchorAttack() {}

    /**
     * Diffuse leak: anchors drawn uniformly from the store (nested, so the curve is monotone in information).
     *
     * @param perCell  true: one Procrustes map per cell (cells are public); false: one global map
     * @param trueKeys H_c in the attacker's frame (row-major), or null
     */
    public static Curve diffuse(
            String label,
            Data data,
            boolean perCell,
            int[] grid,
            int victims,
            int gallery,
            long seed,
            IntFunction<double[]> trueKeys,
            ProgressLog log) {
        int n = data.size();
        int dr = data.dimension();
        SplittableRandom random = new SplittableRandom(seed);
        int[] perm = Sampling.permutation(n, random);
        int v = Math.min(victims, n / 4);
        int g = Math.min(Math.max(gallery, v), n);
        int[] victimIdx = Arrays.copyOfRange(perm, 0, v);
        int[] galleryIdx = Arrays.copyOfRange(perm, 0, g);
        int[] anchorOrder = Arrays.copyOfRange(perm, v, n);
        float[][] galleryR = new float[g][];
        for (int i = 0; i < g; i++) {
            galleryR[i] = data.r()[galleryIdx[i]];
        }
        int groups = perCell ? data.cells() : 1;
        Procrustes.Accumulator[] acc = new Procrustes.Accumulator[groups];
        double[][] maps = new double[groups][];
        int[] solvedAt = new int[groups];
        Arrays.fill(solvedAt, -1);
        boolean[] needed = new boolean[groups];
        for (int idx : victimIdx) {
            needed[perCell ? data.cell()[idx] : 0] = true;
        }
        for (int k = 0; k < groups; k++) {
            acc[k] = new Procrustes.Accumulator(dr);
        }
        double[][] keyErrors = new double[groups][];
        List<Integer> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        List<Double> rec = new ArrayList<>();
        int added = 0;
        for (int m : grid) {
            if (m > anchorOrder.length) {
                break;
            }
            for (; added < m; added++) {
                int a = anchorOrder[added];
                acc[perCell ? data.cell()[a] : 0].add(data.r()[a], data.z()[a]);
            }
            IntStream.range(0, groups)
                    .parallel()
                    .filter(k -> needed[k] && solvedAt[k] != acc[k].count())
                    .forEach(k -> {
                        maps[k] = acc[k].solve();
                        solvedAt[k] = acc[k].count();
                    });
            if (trueKeys != null && perCell) {
                for (int k = 0; k < groups; k++) {
                    if (needed[k]) {
                        keyErrors[k] = new double[] {Procrustes.relativeError(maps[k], trueKeys.apply(k))};
                    }
                }
            }
            double[] res = reidentify(data, victimIdx, galleryIdx, galleryR, perCell, maps);
            double r1 = res[0];
            double recovered = res[1];
            double keyErr = Double.NaN;
            if (trueKeys != null && perCell) {
                double sum = 0;
                for (int idx : victimIdx) {
                    sum += keyErrors[data.cell()[idx]][0];
                }
                keyErr = sum / v;
            }
            xs.add(m);
            ys.add(r1);
            rec.add(recovered);
            if (log != null) {
                log.info(
                        "%s: m=%d R@1=%.3f residuals recovered (cos ≥ %.3f) %.2f%s",
                        label,
                        m,
                        r1,
                        RECOVERED_COSINE,
                        recovered,
                        Double.isNaN(keyErr)
                                ? ""
                                : String.format(java.util.Locale.ROOT, ", mean key error ‖Q̂−H_c‖/‖H_c‖ %.2e", keyErr));
            }
        }
        return curve(label, xs, ys, rec);
    }

    /**
     * Targeted leak: all anchors in the victim's (public) cell. Uses up to {@code victimCells} of the largest cells
     * that hold at least {@code minCellSize} documents; returns null when no cell is that large (micro-key regime).
     */
    public static Curve targeted(
            String label,
            Data data,
            int[] grid,
            int victimsPerCell,
            int victimCells,
            int gallery,
            int minCellSize,
            long seed,
            IntFunction<double[]> trueKeys,
            ProgressLog log) {
        int n = data.size();
        int dr = data.dimension();
        int[] sizes = data.cellSizes();
        Integer[] byCell = new Integer[data.cells()];
        for (int c = 0; c < byCell.length; c++) {
            byCell[c] = c;
        }
        Arrays.sort(byCell, (a, b) -> Integer.compare(sizes[b], sizes[a]));
        List<Integer> chosen = new ArrayList<>();
        for (int c : byCell) {
            if (chosen.size() < victimCells && sizes[c] >= minCellSize) {
                chosen.add(c);
            }
        }
        if (chosen.isEmpty()) {
            return null;
        }
        SplittableRandom random = new SplittableRandom(seed);
        int maxUsable = Integer.MAX_VALUE;
        for (int c : chosen) {
            maxUsable = Math.min(maxUsable, sizes[c] - victimsPerCell);
        }
        int[] usable = Arrays.stream(grid).filter(m -> m > 0).toArray();
        double[] hits = new double[usable.length];
        double[] recovered = new double[usable.length];
        int[] counted = new int[usable.length];
        int totalVictims = 0;
        for (int c : chosen) {
            int[] members =
                    IntStream.range(0, n).filter(i -> data.cell()[i] == c).toArray();
            int[] perm = Sampling.permutation(members.length, random);
            int v = victimsPerCell;
            int[] victimIdx = new int[v];
            for (int i = 0; i < v; i++) {
                victimIdx[i] = members[perm[i]];
            }
            // gallery: the victims plus random documents of the whole store
            int g = Math.min(gallery, n);
            int[] other = Sampling.permutation(n, random);
            int[] galleryIdx = new int[g];
            System.arraycopy(victimIdx, 0, galleryIdx, 0, v);
            boolean[] isVictim = new boolean[n];
            for (int idx : victimIdx) {
                isVictim[idx] = true;
            }
            int gi = v;
            for (int i = 0; i < n && gi < g; i++) {
                if (!isVictim[other[i]]) {
                    galleryIdx[gi++] = other[i];
                }
            }
            float[][] galleryR = new float[g][];
            for (int i = 0; i < g; i++) {
                galleryR[i] = data.r()[galleryIdx[i]];
            }
            Procrustes.Accumulator acc = new Procrustes.Accumulator(dr);
            int added = 0;
            for (int p = 0; p < usable.length; p++) {
                int m = usable[p];
                if (m > members.length - v) {
                    continue;
                }
                for (; added < m; added++) {
                    int a = members[perm[v + added]];
                    acc.add(data.r()[a], data.z()[a]);
                }
                double[][] maps = new double[data.cells()][];
                maps[c] = acc.solve();
                double[] res = reidentify(data, victimIdx, galleryIdx, galleryR, true, maps);
                hits[p] += res[0] * v;
                counted[p] += v;
                recovered[p] += res[1] * v;
            }
            totalVictims += v;
            if (log != null) {
                log.info("%s: cell %d (%d docs) done", label, c, sizes[c]);
            }
        }
        List<Integer> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        List<Double> rec = new ArrayList<>();
        for (int p = 0; p < usable.length; p++) {
            if (counted[p] == totalVictims && totalVictims > 0) {
                xs.add(usable[p]);
                ys.add(hits[p] / counted[p]);
                rec.add(recovered[p] / counted[p]);
                if (log != null) {
                    log.info("%s: m=%d R@1=%.3f", label, usable[p], hits[p] / counted[p]);
                }
            }
        }
        return curve(
                label + " (" + chosen.size() + " victim cells of " + sizes[chosen.get(chosen.size() - 1)] + "–"
                        + sizes[chosen.get(0)] + " docs)",
                xs,
                ys,
                rec);
    }

    /** Threshold of "the victim's native residual is recovered": cos(Q̂ᵀ z, r) ≥ this. */
    public static final double RECOVERED_COSINE = 0.999;

    /** {R@1, fraction of victims whose residual is recovered}: R@1 = the nearest gallery residual to Q̂ᵀ z_v is v itself. */
    static double[] reidentify(
            Data data, int[] victimIdx, int[] galleryIdx, float[][] galleryR, boolean perCell, double[][] maps) {
        int dr = data.dimension();
        boolean[] rec = new boolean[victimIdx.length];
        long hits = IntStream.range(0, victimIdx.length)
                .parallel()
                .filter(t -> {
                    int idx = victimIdx[t];
                    double[] q = maps[perCell ? data.cell()[idx] : 0];
                    float[] est = Procrustes.applyTranspose(q, dr, data.z()[idx]);
                    float[] truth = data.r()[idx];
                    rec[t] = Vectors.dot(est, truth) / (Vectors.norm(est) * Vectors.norm(truth)) >= RECOVERED_COSINE;
                    return galleryIdx[Vectors.nearest(est, galleryR)] == idx;
                })
                .count();
        return new double[] {hits / (double) victimIdx.length, Metrics.rate(rec)};
    }

    private static Curve curve(String label, List<Integer> xs, List<Double> ys, List<Double> rec) {
        return new Curve(
                label,
                xs.stream().mapToInt(Integer::intValue).toArray(),
                ys.stream().mapToDouble(Double::doubleValue).toArray(),
                rec.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
