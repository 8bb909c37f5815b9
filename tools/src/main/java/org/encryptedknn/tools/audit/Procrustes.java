package org.encryptedknn.tools.audit;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * Orthogonal Procrustes, the known-plaintext aligner of SHARD §7.1/§7.5: given anchor pairs (a_i, b_i) with
 * b_i ≈ Q a_i for an unknown orthogonal Q, the least-squares orthogonal estimate is Q̂ = U Vᵀ where
 * M = Σ b_i a_iᵀ = U S Vᵀ. With at least n anchors in general position and exact pairs, Q̂ = Q exactly; with
 * fewer, Q̂ is right on the span of the anchors and arbitrary on its complement.
 *
 * <p>An {@code Accumulator} keeps M so that nested anchor sets (the anchor sweeps of the audit) cost one rank-1
 * update per anchor and one SVD per evaluation point.
 */
public final class Procrustes {

    private Procrustes() {}

    /** Running M = Σ b aᵀ (n×n, row-major) and the anchor count. */
    public static final class Accumulator {
        private final int n;
        private final double[] m;
        private int count;

        public Accumulator(int n) {
            this.n = n;
            this.m = new double[n * n];
        }

        /** M += b aᵀ. */
        public void add(float[] a, float[] b) {
            if (a.length != n || b.length != n) {
                throw new IllegalArgumentException(
                        "anchor dimensions " + a.length + "/" + b.length + ", expected " + n);
            }
            for (int i = 0; i < n; i++) {
                double bi = b[i];
                if (bi == 0) {
                    continue;
                }
                int base = i * n;
                for (int j = 0; j < n; j++) {
                    m[base + j] += bi * a[j];
                }
            }
            count++;
        }

        public int count() {
            return count;
        }

        public int dimension() {
            return n;
        }

        /** Q̂ = polar factor of M (row-major n×n); the identity when no anchor was added. */
        public double[] solve() {
            if (count == 0) {
                double[] id = new double[n * n];
                for (int i = 0; i < n; i++) {
                    id[i * n + i] = 1;
                }
                return id;
            }
            return polar(m, n);
        }
    }

    /** Q̂ from explicit anchors: b_i ≈ Q a_i (rows of {@code a} and {@code b}). */
    public static double[] fit(float[][] a, float[][] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(a.length + " sources but " + b.length + " targets");
        }
        Accumulator acc = new Accumulator(a[0].length);
        for (int i = 0; i < a.length; i++) {
            acc.add(a[i], b[i]);
        }
        return acc.solve();
    }

    /** The orthogonal polar factor U Vᵀ of a square matrix (row-major). */
    public static double[] polar(double[] m, int n) {
        DMatrixRMaj mat = new DMatrixRMaj(n, n);
        System.arraycopy(m, 0, mat.data, 0, n * n);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(n, n, true, true, false);
        if (!svd.decompose(mat)) {
            throw new IllegalStateException("SVD failed");
        }
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj vt = svd.getV(null, true);
        DMatrixRMaj q = new DMatrixRMaj(n, n);
        CommonOps_DDRM.mult(u, vt, q);
        return q.data;
    }

    /**
     * The unit eigenvectors (rows) of a symmetric n×n matrix (row-major) whose eigenvalues are below
     * {@code relative} × the largest: the directions the matrix (a scatter of vectors) leaves (nearly) empty.
     */
    public static double[][] nearNullDirections(double[] symmetric, int n, double relative) {
        EigenDecomposition_F64<DMatrixRMaj> eig = symmetricEigen(symmetric, n);
        double largest = 0;
        for (int k = 0; k < n; k++) {
            largest = Math.max(largest, eig.getEigenvalue(k).real);
        }
        java.util.List<double[]> out = new java.util.ArrayList<>();
        for (int k = 0; k < n; k++) {
            if (eig.getEigenvalue(k).real < relative * largest) {
                out.add(unitEigenvector(eig, k, n));
            }
        }
        return out.toArray(new double[0][]);
    }

    /** The unit eigenvector of the largest eigenvalue of a symmetric n×n matrix (row-major). */
    public static double[] topEigenvector(double[] symmetric, int n) {
        EigenDecomposition_F64<DMatrixRMaj> eig = symmetricEigen(symmetric, n);
        int top = 0;
        for (int k = 1; k < n; k++) {
            if (eig.getEigenvalue(k).real > eig.getEigenvalue(top).real) {
                top = k;
            }
        }
        return unitEigenvector(eig, top, n);
    }

    private static EigenDecomposition_F64<DMatrixRMaj> symmetricEigen(double[] symmetric, int n) {
        DMatrixRMaj mat = new DMatrixRMaj(n, n);
        System.arraycopy(symmetric, 0, mat.data, 0, n * n);
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(mat)) {
            throw new IllegalStateException("eigendecomposition failed");
        }
        return eig;
    }

    private static double[] unitEigenvector(EigenDecomposition_F64<DMatrixRMaj> eig, int k, int n) {
        DMatrixRMaj v = eig.getEigenVector(k);
        double norm = 0;
        for (int i = 0; i < n; i++) {
            norm += v.get(i, 0) * v.get(i, 0);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = v.get(i, 0) / Math.sqrt(norm);
        }
        return out;
    }

    /** Qᵀ b: maps a stored vector back to the attacker's frame. */
    public static float[] applyTranspose(double[] q, int n, float[] b) {
        double[] acc = new double[n];
        for (int i = 0; i < n; i++) {
            double bi = b[i];
            int base = i * n;
            for (int j = 0; j < n; j++) {
                acc[j] += q[base + j] * bi;
            }
        }
        float[] out = new float[n];
        for (int j = 0; j < n; j++) {
            out[j] = (float) acc[j];
        }
        return out;
    }

    /** Q a. */
    public static float[] apply(double[] q, int n, float[] a) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            int base = i * n;
            for (int j = 0; j < n; j++) {
                s += q[base + j] * a[j];
            }
            out[i] = (float) s;
        }
        return out;
    }

    /** ‖A − B‖_F / ‖B‖_F. */
    public static double relativeError(double[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            double t = a[i] - b[i];
            num += t * t;
            den += b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    /** A random orthogonal n×n matrix (QR of a Gaussian matrix, signs fixed): for tests and controls. */
    public static double[] randomOrthogonal(int n, java.util.SplittableRandom random) {
        DMatrixRMaj g = new DMatrixRMaj(n, n);
        for (int i = 0; i < n * n; i++) {
            g.data[i] = Sampling.gaussian(random);
        }
        var qr = DecompositionFactory_DDRM.qr(n, n);
        if (!qr.decompose(g)) {
            throw new IllegalStateException("QR failed");
        }
        DMatrixRMaj q = qr.getQ(null, false);
        DMatrixRMaj r = qr.getR(null, false);
        for (int j = 0; j < n; j++) {
            if (r.get(j, j) < 0) {
                for (int i = 0; i < n; i++) {
                    q.set(i, j, -q.get(i, j));
                }
            }
        }
        return Arrays.copyOf(q.data, n * n);
    }
}
