package org.encryptedknn.tools.audit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Within-cell Gram fingerprinting (issue 15). Records of one cell share the orthogonal key H_c, so
 * ⟨z_i, z_j⟩ = ⟨r_i, r_j⟩ exactly: the Gram matrix of a cell is the Gram matrix of its plaintext residuals. Two
 * attacks, both without the diagonal (so norm padding alone does not stop them):
 *
 * <ul>
 *   <li><b>known partition</b>: the attacker knows which plaintexts fall in each cell and matches each record's
 *       sorted off-diagonal Gram row to the sorted rows of the cell's plaintexts;
 *   <li><b>unknown partition</b>: every plaintext pair value ⟨r_a, r_b⟩ goes into a sorted index; each stored pair
 *       value ⟨z_i, z_j⟩ looks up the plaintext pairs within a tolerance and votes for their two documents; a record's
 *       identity is the document with most votes over its cell mates.
 * </ul>
 *
 * The same vote links two key epochs ({@link #link}): the reference pairs are then the same-cell pairs of the other
 * epoch's records.
 */
public final class GramFingerprint {

    private GramFingerprint() {}

    /** R@1 with a known partition: row i of {@code z} is the record of plaintext {@code reference[i]}. */
    public static double knownPartitionR1(float[][] z, int[] cell, float[][] reference) {
        List<int[]> groups = groups(cell);
        long hits = groups.parallelStream()
                .mapToLong(g -> {
                    int m = g.length;
                    if (m < 2) {
                        return 0; // a lone record has no off-diagonal entry
                    }
                    double[][] stored = new double[m][];
                    double[][] plain = new double[m][];
                    for (int a = 0; a < m; a++) {
                        stored[a] = sortedRow(z, g, a);
                        plain[a] = sortedRow(reference, g, a);
                    }
                    long h = 0;
                    for (int a = 0; a < m; a++) {
                        int best = -1;
                        double bestD = Double.POSITIVE_INFINITY;
                        for (int b = 0; b < m; b++) {
                            double dd = 0;
                            for (int k = 0; k < m - 1; k++) {
                                double e = stored[a][k] - plain[b][k];
                                dd += e * e;
                            }
                            if (dd < bestD) {
                                bestD = dd;
                                best = b;
                            }
                        }
                        if (best == a) {
                            h++;
                        }
                    }
                    return h;
                })
                .sum();
        return hits / (double) z.length;
    }

    /**
     * R@1 with no partition known: each record's cell mates vote through the index of all plaintext pair values.
     * Row i of {@code z} is the record of plaintext i.
     */
    public static double unknownPartitionR1(float[][] z, int[] cell, float[][] reference, double tolerance) {
        PairIndex index = PairIndex.allPairs(reference);
        return r1(identify(z, cell, index, tolerance));
    }

    /**
     * Links epoch B to epoch A: the reference pairs are the same-cell pairs of A (cells of A), the stored pairs the
     * same-cell pairs of B. Row i of both is the same document. A fresh cell partition per epoch breaks this link.
     */
    public static double link(float[][] zA, int[] cellA, float[][] zB, int[] cellB, double tolerance) {
        PairIndex index = PairIndex.groupedPairs(zA, cellA);
        return r1(identify(zB, cellB, index, tolerance));
    }

    /** Best reference document per stored record (−1 when no vote). */
    static int[] identify(float[][] z, int[] cell, PairIndex index, double tolerance) {
        int n = z.length;
        List<int[]> groups = groups(cell);
        int[] groupOf = new int[n];
        for (int g = 0; g < groups.size(); g++) {
            for (int i : groups.get(g)) {
                groupOf[i] = g;
            }
        }
        ThreadLocal<int[]> votes = ThreadLocal.withInitial(() -> new int[index.size()]);
        int[] best = new int[n];
        IntStream.range(0, n).parallel().forEach(i -> {
            int[] v = votes.get();
            int[] mates = groups.get(groupOf[i]);
            IntArrayList touched = new IntArrayList();
            for (int j : mates) {
                if (j == i) {
                    continue;
                }
                index.forEachWithin(Vectors.dot(z[i], z[j]), tolerance, (a, b) -> {
                    if (v[a]++ == 0) {
                        touched.add(a);
                    }
                    if (v[b]++ == 0) {
                        touched.add(b);
                    }
                });
            }
            int arg = -1;
            int top = 0;
            for (int k = 0; k < touched.size; k++) {
                int a = touched.items[k];
                if (v[a] > top || (v[a] == top && a < arg)) { // a tie goes to the lowest id, not to the truth
                    top = v[a];
                    arg = a;
                }
                v[a] = 0;
            }
            best[i] = arg;
        });
        return best;
    }

    private static double r1(int[] best) {
        long hits = IntStream.range(0, best.length).filter(i -> best[i] == i).count();
        return hits / (double) best.length;
    }

    private static double[] sortedRow(float[][] xs, int[] group, int a) {
        double[] row = new double[group.length - 1];
        int k = 0;
        for (int b = 0; b < group.length; b++) {
            if (b != a) {
                row[k++] = Vectors.dot(xs[group[a]], xs[group[b]]);
            }
        }
        Arrays.sort(row);
        return row;
    }

    static List<int[]> groups(int[] cell) {
        int cells = Arrays.stream(cell).max().orElse(-1) + 1;
        int[] sizes = new int[cells];
        for (int c : cell) {
            sizes[c]++;
        }
        List<int[]> out = new ArrayList<>();
        int[][] members = new int[cells][];
        for (int c = 0; c < cells; c++) {
            members[c] = new int[sizes[c]];
            sizes[c] = 0;
        }
        for (int i = 0; i < cell.length; i++) {
            members[cell[i]][sizes[cell[i]]++] = i;
        }
        for (int[] m : members) {
            if (m.length > 0) {
                out.add(m);
            }
        }
        return out;
    }

    /** A growable int list (the vote loop touches a few hundred documents per record). */
    private static final class IntArrayList {
        int[] items = new int[256];
        int size;

        void add(int v) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
            }
            items[size++] = v;
        }
    }

    /**
     * Pair values ⟨x_a, x_b⟩ (a &lt; b) sorted for range look-ups: one long per pair, the order-preserving bits of the
     * float value in the high half and a·n + b in the low half.
     */
    static final class PairIndex {
        private final long[] keys;
        private final int n;

        private PairIndex(long[] keys, int n) {
            this.keys = keys;
            this.n = n;
        }

        int size() {
            return n;
        }

        static PairIndex allPairs(float[][] xs) {
            int[] all = new int[xs.length];
            return groupedPairs(xs, all);
        }

        static PairIndex groupedPairs(float[][] xs, int[] group) {
            int n = xs.length;
            if ((long) n * n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("pair index holds at most 46,340 documents, got " + n);
            }
            List<int[]> groups = groups(group);
            long total = 0;
            for (int[] g : groups) {
                total += (long) g.length * (g.length - 1) / 2;
            }
            long[] keys = new long[Math.toIntExact(total)];
            long[] offsets = new long[groups.size() + 1];
            for (int g = 0; g < groups.size(); g++) {
                offsets[g + 1] = offsets[g] + (long) groups.get(g).length * (groups.get(g).length - 1) / 2;
            }
            IntStream.range(0, groups.size()).parallel().forEach(gi -> {
                int[] g = groups.get(gi);
                int at = (int) offsets[gi];
                for (int x = 0; x < g.length; x++) {
                    for (int y = x + 1; y < g.length; y++) {
                        int a = Math.min(g[x], g[y]);
                        int b = Math.max(g[x], g[y]);
                        keys[at++] = key((float) Vectors.dot(xs[a], xs[b]), a * n + b);
                    }
                }
            });
            Arrays.parallelSort(keys);
            return new PairIndex(keys, n);
        }

        /** Calls {@code sink} with every pair whose value lies within {@code tolerance} of {@code value}. */
        void forEachWithin(double value, double tolerance, PairSink sink) {
            long lo = (long) sortable((float) (value - tolerance)) << 32;
            long hi = ((long) sortable((float) (value + tolerance)) << 32) | 0xffffffffL;
            int from = lowerBound(lo);
            for (int k = from; k < keys.length && keys[k] <= hi; k++) {
                int pair = (int) keys[k];
                sink.accept(pair / n, pair % n);
            }
        }

        private int lowerBound(long key) {
            int lo = 0;
            int hi = keys.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (keys[mid] < key) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }

        private static long key(float value, int pair) {
            return ((long) sortable(value) << 32) | pair;
        }

        /** An int whose signed order is the float order. */
        private static int sortable(float v) {
            int bits = Float.floatToIntBits(v);
            return bits ^ ((bits >> 31) & 0x7fffffff);
        }
    }

    @FunctionalInterface
    interface PairSink {
        void accept(int a, int b);
    }
}
