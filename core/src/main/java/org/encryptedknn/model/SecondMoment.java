package org.encryptedknn.model;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The uncentred second-moment matrix M = (1/n) Σ x xᵀ of a point cloud and its symmetric eigendecomposition (EJML).
 * The model fitter takes its basis from it; the audit computes an attacker's principal frame the same way.
 */
public final class SecondMoment {

    /**
     * Eigenpairs by descending eigenvalue (ties keep EJML's order): {@code vectors} holds the eigenvectors as
     * EJML returns them, as the rows of a d×d row-major matrix.
     */
    public record Eigen(int dimension, double[] values, double[] vectors) {}

    private final int dimension;
    private final DMatrixRMaj sum;
    private long count;

    public SecondMoment(int dimension) {
        this.dimension = dimension;
        this.sum = new DMatrixRMaj(dimension, dimension);
    }

    /** Adds x xᵀ (upper triangle only; {@link #eigen} mirrors it). */
    public void add(double[] x) {
        int d = dimension;
        double[] a = sum.data;
        for (int r = 0; r < d; r++) {
            double xr = x[r];
            if (xr == 0) {
                continue;
            }
            int base = r * d;
            for (int c = r; c < d; c++) {
                a[base + c] += xr * x[c];
            }
        }
        count++;
    }

    public void add(float[] x) {
        double[] row = new double[x.length];
        for (int j = 0; j < row.length; j++) {
            row[j] = x[j];
        }
        add(row);
    }

    /** Eigendecomposition of (1/n) Σ x xᵀ over the points added so far. */
    public Eigen eigen() {
        int d = dimension;
        DMatrixRMaj m = new DMatrixRMaj(d, d);
        double[] a = m.data;
        for (int r = 0; r < d; r++) {
            for (int c = r; c < d; c++) {
                double v = sum.data[r * d + c] / count;
                a[r * d + c] = v;
                a[c * d + r] = v;
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(m)) {
            throw new IllegalStateException("eigendecomposition of the second-moment matrix failed");
        }
        Integer[] order = new Integer[d];
        double[] values = new double[d];
        for (int i = 0; i < d; i++) {
            order[i] = i;
            values[i] = eig.getEigenvalue(i).getReal();
        }
        Arrays.sort(order, (p, q) -> Double.compare(values[q], values[p]));
        double[] sortedValues = new double[d];
        double[] vectors = new double[d * d];
        for (int k = 0; k < d; k++) {
            DMatrixRMaj v = eig.getEigenVector(order[k]);
            if (v == null) {
                throw new IllegalStateException("eigendecomposition returned no vector for eigenvalue " + k);
            }
            sortedValues[k] = values[order[k]];
            for (int j = 0; j < d; j++) {
                vectors[k * d + j] = v.get(j, 0);
            }
        }
        return new Eigen(d, sortedValues, vectors);
    }
}
