package org.encryptedknn.transform;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.encryptedknn.keys.PrfStream;

/**
 * Haar-random orthogonal matrices derived deterministically from a 32-byte seed: an n×n matrix
 * of Gaussians from {@link PrfStream} (AES-256-CTR keystream under the seed, zero IV, row-major),
 * QR-decomposed (EJML Householder QR), Q's columns multiplied by sign(diag(R)) — which makes the
 * distribution exactly Haar on O(n) (Mezzadri 2007). Never a handful of reflections: that would
 * leave a large subspace untouched.
 */
public final class HaarOrthogonal {

    private HaarOrthogonal() {}

    /** Row-major n×n orthogonal matrix. O(n³). */
    public static double[] derive(byte[] seed, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("matrix size must be >= 1, got " + n);
        }
        PrfStream stream = new PrfStream(seed);
        DMatrixRMaj a = new DMatrixRMaj(n, n);
        double[] data = a.data;
        for (int i = 0; i < n * n; i++) {
            data[i] = stream.nextGaussian();
        }
        stream.wipe();
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(n, n);
        if (!qr.decompose(a)) {
            throw new IllegalStateException("QR decomposition failed");
        }
        DMatrixRMaj q = qr.getQ(null, false);
        DMatrixRMaj r = qr.getR(null, false);
        double[] out = q.data;
        for (int j = 0; j < n; j++) {
            if (r.get(j, j) < 0) {
                for (int i = 0; i < n; i++) {
                    out[i * n + j] = -out[i * n + j];
                }
            }
        }
        java.util.Arrays.fill(a.data, 0);
        java.util.Arrays.fill(r.data, 0);
        return out;
    }
}
