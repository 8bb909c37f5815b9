package org.encryptedknn.tools.audit;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.VectorTransform;

/**
 * Keyed-mode cell linking from observed queries (issue 15). In keyed mode every query sends y_c = H_c r_q for each of
 * its P probed cells. For two cells probed together by m ≥ d − d_pub queries, y_{c'} = (H_{c'} H_cᵀ) y_c is an
 * overdetermined system: the data node solves M_{cc'} = H_{c'} H_cᵀ by least squares (orthogonal Procrustes, which
 * is exact on exact data), joins the cells into one frame along a spanning tree of solved pairs (union-find), and
 * then computes ⟨r_i, r_j⟩ = ⟨F_c z_i, F_{c'} z_j⟩ for records of different cells: the per-cell keys cancel.
 *
 * <p>Padded records (z = H_c·[r; t], record residual v2): every query is H_c·[r_q; 0], so the queries of a cell span
 * H_c's first d − d_pub columns and their orthogonal complement is the padding direction w_c = ±H_c·e_pad. Once a
 * cell has been probed by ≥ d − d_pub queries the node finds w_c: among the directions the queries leave (nearly)
 * empty (eigenvalues of Σ y yᵀ below 1e-6 of the largest; a few hundred real queries excite the weakest residual
 * directions only faintly), the one that carries most of the stored records' energy (every record has t_i ≈ √(T² −
 * ‖r_i‖²) there). It reads each record's padding |⟨z_i, w_c⟩| = t_i — and with it ‖r_i‖ = √(T² − t_i²), the norm
 * channel the padding closed — and strips it, z_i − ⟨z_i, w_c⟩ w_c = H_c·[r_i; 0], before joining the frames (a least-squares map fitted on the
 * queries is fixed on their span only, so the padding direction would otherwise come out with an arbitrary sign).
 */
public final class KeyedCellLinking {

    /** What the data node records of one keyed query: the probed cells and H_c r_q for each. */
    public record Observation(int[] cells, float[][] keyedQueries) {}

    /**
     * @param queries         observed queries
     * @param pairsProbed     cell pairs probed together at least once
     * @param pairsSolvable   cell pairs probed together ≥ d − d_pub times
     * @param pairsSolved     pairs solved (the spanning-tree edges; a pair is solved only when it joins two frames)
     * @param largestFrame    cells in the largest joined frame
     * @param frames          frames left (1 = every cell in one frame)
     * @param cells           C
     * @param checkedPairs    cross-cell record pairs checked inside the largest frame
     * @param meanError       mean |⟨F_c z_i, F_c' z_j⟩ − ⟨r_i, r_j⟩| over them
     * @param maxError        max of the same
     * @param paddedCells     cells whose padding direction the node found (0 for unpadded records)
     * @param paddedRecords   records of those cells, whose padding t_i (so ‖r_i‖) the node read
     * @param paddingMaxError max |t̂_i − t_i| over them (NaN when none)
     */
    public record Result(
            int queries,
            int pairsProbed,
            int pairsSolvable,
            int pairsSolved,
            int largestFrame,
            int frames,
            int cells,
            int checkedPairs,
            double meanError,
            double maxError,
            int paddedCells,
            int paddedRecords,
            double paddingMaxError) {}

    private KeyedCellLinking() {}

    /** The keyed query as the gateway and the client library build it: the P nearest cells and H_c r_q for each. */
    public static Observation observe(VectorTransform t, float[] query, int probes) {
        EncryptedQuery q = t.encryptQuery(query);
        int[] cells = t.probeCells(q, probes);
        float[][] y = new float[cells.length][];
        for (int k = 0; k < cells.length; k++) {
            y[k] = t.keyedResidualQuery(q, cells[k]);
        }
        q.wipe();
        return new Observation(cells, y);
    }

    /**
     * Runs the attack on the observations and checks it against the plaintext residuals ({@code plainResidual[i]}
     * is r of the record {@code z[i]}, cell {@code cell[i]}; for padded records z is one value longer than r).
     */
    public static Result attack(
            List<Observation> observations,
            int cells,
            float[][] z,
            int[] cell,
            float[][] plainResidual,
            int checkPairs,
            long seed) {
        int dr = z[0].length;
        boolean padded = dr == plainResidual[0].length + 1;
        double[][] padding = padded ? paddingDirections(observations, cells, z, cell) : new double[cells][];
        float[][] stripped = new float[z.length][];
        int paddedCells = 0;
        int paddedRecords = 0;
        double paddingMaxError = 0;
        for (double[] w : padding) {
            paddedCells += w == null ? 0 : 1;
        }
        for (int i = 0; i < z.length; i++) {
            double[] w = padding[cell[i]];
            if (w == null) {
                stripped[i] = z[i];
                continue;
            }
            double ti = 0;
            for (int k = 0; k < dr; k++) {
                ti += w[k] * z[i][k];
            }
            stripped[i] = new float[dr];
            for (int k = 0; k < dr; k++) {
                stripped[i][k] = (float) (z[i][k] - ti * w[k]);
            }
            double truth =
                    Math.sqrt(Math.max(0, Vectors.dot(z[i], z[i]) - Vectors.dot(plainResidual[i], plainResidual[i])));
            paddingMaxError = Math.max(paddingMaxError, Math.abs(Math.abs(ti) - truth));
            paddedRecords++;
        }
        // co-probe lists per unordered pair (c < c'): which observations and where each cell sits in them
        Map<Integer, List<int[]>> together = new HashMap<>();
        for (int o = 0; o < observations.size(); o++) {
            int[] cs = observations.get(o).cells();
            for (int a = 0; a < cs.length; a++) {
                for (int b = 0; b < cs.length; b++) {
                    if (cs[a] < cs[b]) {
                        together.computeIfAbsent(cs[a] * cells + cs[b], k -> new ArrayList<>())
                                .add(new int[] {o, a, b});
                    }
                }
            }
        }
        List<Integer> solvable = new ArrayList<>();
        together.forEach((pair, obs) -> {
            if (obs.size() >= dr) {
                solvable.add(pair);
            }
        });
        // most-probed pairs first: the best-conditioned systems become the tree edges
        solvable.sort((x, y) ->
                Integer.compare(together.get(y).size(), together.get(x).size()));
        int[] parent = new int[cells];
        for (int c = 0; c < cells; c++) {
            parent[c] = c;
        }
        Map<Integer, List<Edge>> tree = new HashMap<>();
        int solved = 0;
        for (int pair : solvable) {
            int c = pair / cells;
            int c2 = pair % cells;
            int rc = find(parent, c);
            int rc2 = find(parent, c2);
            if (rc == rc2) {
                continue;
            }
            parent[rc] = rc2;
            List<int[]> all = together.get(pair);
            List<int[]> obs = all.subList(0, Math.min(all.size(), 2 * dr)); // 2(d − d_pub) exact equations suffice
            float[][] from = new float[obs.size()][];
            float[][] to = new float[obs.size()][];
            for (int k = 0; k < obs.size(); k++) {
                int[] e = obs.get(k);
                from[k] = observations.get(e[0]).keyedQueries()[e[1]];
                to[k] = observations.get(e[0]).keyedQueries()[e[2]];
            }
            double[] m = Procrustes.fit(from, to); // y_{c2} = M y_c, M = H_{c2} H_cᵀ
            tree.computeIfAbsent(c, k -> new ArrayList<>()).add(new Edge(c2, m, false));
            tree.computeIfAbsent(c2, k -> new ArrayList<>()).add(new Edge(c, m, true));
            solved++;
        }
        // frames: F_root = I; F maps a cell's coordinates into its root's
        int[] size = new int[cells];
        for (int c = 0; c < cells; c++) {
            size[find(parent, c)]++;
        }
        int root = 0;
        int frames = 0;
        for (int c = 0; c < cells; c++) {
            if (size[c] > 0) {
                frames++;
                if (size[c] > size[root]) {
                    root = c;
                }
            }
        }
        double[][] frame = new double[cells][];
        frame[root] = identity(dr);
        Deque<Integer> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            int c = todo.pop();
            for (Edge e : tree.getOrDefault(c, List.of())) {
                if (frame[e.to] == null) {
                    // y_c = M_{c→to}ᵀ y_to, so F_to = F_c · M_{c→to}ᵀ; for a reversed edge M maps to→c: F_to = F_c · M
                    frame[e.to] = multiply(frame[c], e.map, dr, !e.reversed);
                    todo.push(e.to);
                }
            }
        }
        // check: cross-cell inner products in the root frame against the plaintext
        List<Integer> joined = new ArrayList<>();
        for (int i = 0; i < z.length; i++) {
            if (frame[cell[i]] != null && (!padded || padding[cell[i]] != null)) {
                joined.add(i);
            }
        }
        SplittableRandom random = new SplittableRandom(seed);
        double sum = 0;
        double max = 0;
        int checked = 0;
        Map<Integer, float[]> inRoot = new HashMap<>();
        for (int t = 0; t < checkPairs * 20 && checked < checkPairs && joined.size() > 1; t++) {
            int i = joined.get(random.nextInt(joined.size()));
            int j = joined.get(random.nextInt(joined.size()));
            if (cell[i] == cell[j]) {
                continue;
            }
            float[] fi = inRoot.computeIfAbsent(i, k -> Procrustes.apply(frame[cell[k]], dr, stripped[k]));
            float[] fj = inRoot.computeIfAbsent(j, k -> Procrustes.apply(frame[cell[k]], dr, stripped[k]));
            double err = Math.abs(Vectors.dot(fi, fj) - Vectors.dot(plainResidual[i], plainResidual[j]));
            sum += err;
            max = Math.max(max, err);
            checked++;
        }
        return new Result(
                observations.size(),
                together.size(),
                solvable.size(),
                solved,
                size[root],
                frames,
                cells,
                checked,
                checked == 0 ? Double.NaN : sum / checked,
                checked == 0 ? Double.NaN : max,
                paddedCells,
                paddedRecords,
                paddedRecords == 0 ? Double.NaN : paddingMaxError);
    }

    /** Relative eigenvalue below which a direction counts as left empty by a cell's queries. */
    static final double EMPTY = 1e-6;

    /**
     * Per cell with ≥ dr − 1 observed queries: among the directions its queries leave empty, the unit direction of most
     * stored-record energy (the padding); null for other cells.
     */
    static double[][] paddingDirections(List<Observation> observations, int cells, float[][] z, int[] cell) {
        int dr = z[0].length;
        double[][] scatter = new double[cells][];
        int[] count = new int[cells];
        for (Observation o : observations) {
            for (int a = 0; a < o.cells().length; a++) {
                int c = o.cells()[a];
                float[] y = o.keyedQueries()[a];
                double[] m = scatter[c] == null ? (scatter[c] = new double[dr * dr]) : scatter[c];
                for (int i = 0; i < dr; i++) {
                    for (int j = 0; j < dr; j++) {
                        m[i * dr + j] += (double) y[i] * y[j];
                    }
                }
                count[c]++;
            }
        }
        double[][] out = new double[cells][];
        for (int c = 0; c < cells; c++) {
            if (count[c] < dr - 1) {
                continue;
            }
            double[][] empty = Procrustes.nearNullDirections(scatter[c], dr, EMPTY);
            int k = empty.length;
            if (k == 0) {
                continue;
            }
            // the records' scatter inside the empty subspace; its top eigenvector is the padding direction
            double[] inside = new double[k * k];
            for (int i = 0; i < z.length; i++) {
                if (cell[i] != c) {
                    continue;
                }
                double[] coord = new double[k];
                for (int a = 0; a < k; a++) {
                    for (int j = 0; j < dr; j++) {
                        coord[a] += empty[a][j] * z[i][j];
                    }
                }
                for (int a = 0; a < k; a++) {
                    for (int b = 0; b < k; b++) {
                        inside[a * k + b] += coord[a] * coord[b];
                    }
                }
            }
            double[] top = Procrustes.topEigenvector(inside, k);
            double[] w = new double[dr];
            for (int a = 0; a < k; a++) {
                for (int j = 0; j < dr; j++) {
                    w[j] += top[a] * empty[a][j];
                }
            }
            out[c] = w;
        }
        return out;
    }

    private record Edge(int to, double[] map, boolean reversed) {}

    private static int find(int[] parent, int c) {
        while (parent[c] != c) {
            parent[c] = parent[parent[c]];
            c = parent[c];
        }
        return c;
    }

    private static double[] identity(int n) {
        double[] id = new double[n * n];
        for (int i = 0; i < n; i++) {
            id[i * n + i] = 1;
        }
        return id;
    }

    /** a · b (or a · bᵀ), row-major n×n. */
    private static double[] multiply(double[] a, double[] b, int n, boolean transposeB) {
        double[] out = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                double aik = a[i * n + k];
                if (aik == 0) {
                    continue;
                }
                for (int j = 0; j < n; j++) {
                    out[i * n + j] += aik * (transposeB ? b[j * n + k] : b[k * n + j]);
                }
            }
        }
        return out;
    }
}
