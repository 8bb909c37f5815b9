package org.encryptedknn.he;

import java.util.List;

/**
 * CKKS parameters of the packed rescoring (docs/ckks-parameters.md).
 *
 * <p>The coefficient modulus is {@code [q0, q1, ..., special]}: the query is encrypted at the
 * first data level (all primes but the special one), the product is rescaled once (dropping the
 * last data prime, which should be about {@code 2^scaleBits}) and switched to the last level, so
 * only {@code q0} travels back. The special prime is never used for key switching (there is none)
 * but SEAL always reserves it; it only has to keep the total within the 128-bit bound.
 *
 * @param polyDegree        N: 4096 (2048 slots) or 8192 (4096 slots)
 * @param coeffModulusBits  bit sizes of the primes, 3..8 entries of 20..60 bits, total within the
 *                          HomomorphicEncryption.org 128-bit table (N=4096: 109, N=8192: 218)
 * @param scaleBits         log2 of the encoding scale Δ (20..60)
 * @param blockWidth        B: slots per block; vectors are ≤ B long; ⌊N/2 / B⌋ blocks per ciphertext
 */
public record CkksParameters(int polyDegree, List<Integer> coeffModulusBits, int scaleBits, int blockWidth) {

    /** Residual length d − d_pub for d = 384, d_pub = 96 (the design's default model). */
    public static final int DEFAULT_BLOCK_WIDTH = 288;

    private static final int MAX_BITS_4096 = 109;
    private static final int MAX_BITS_8192 = 218;

    public CkksParameters {
        if (polyDegree != 4096 && polyDegree != 8192) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT, "polyDegree must be 4096 or 8192, got " + polyDegree);
        }
        coeffModulusBits = List.copyOf(coeffModulusBits);
        if (coeffModulusBits.size() < 3 || coeffModulusBits.size() > 8) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT,
                "need 3..8 coefficient moduli (two data primes for one rescale + the special prime), got " + coeffModulusBits);
        }
        int total = 0;
        for (int b : coeffModulusBits) {
            if (b < 20 || b > 60) {
                throw new HeException(HeException.Kind.INVALID_ARGUMENT, "coefficient modulus bit sizes must be 20..60, got " + b);
            }
            total += b;
        }
        int max = polyDegree == 4096 ? MAX_BITS_4096 : MAX_BITS_8192;
        if (total > max) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT,
                "coefficient modulus of " + total + " bits exceeds the 128-bit security bound of " + max + " bits for N=" + polyDegree);
        }
        if (scaleBits < 20 || scaleBits > 60) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT, "scaleBits must be 20..60, got " + scaleBits);
        }
        int n = coeffModulusBits.size();
        int resultBits = 2 * scaleBits - coeffModulusBits.get(n - 2);
        if (resultBits < 20 || resultBits + 3 > coeffModulusBits.get(0)) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT, "scale 2^" + scaleBits + " rescaled by a "
                + coeffModulusBits.get(n - 2) + "-bit prime leaves a 2^" + resultBits + " result that does not fit under the "
                + coeffModulusBits.get(0) + "-bit first prime with 3 bits of head room");
        }
        if (blockWidth < 1 || blockWidth > polyDegree / 2) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT, "blockWidth must be 1.." + polyDegree / 2 + ", got " + blockWidth);
        }
    }

    /** Default: N = 4096, q = [42, 36, 31] bits (109), Δ = 2^36, B = 288 → 7 blocks per ciphertext. */
    public static CkksParameters defaults() {
        return n4096(DEFAULT_BLOCK_WIDTH);
    }

    /** N = 4096, q = [42, 36, 31] bits (109 ≤ 109), Δ = 2^36; for residuals of length ≤ 2048. */
    public static CkksParameters n4096(int blockWidth) {
        return new CkksParameters(4096, List.of(42, 36, 31), 36, blockWidth);
    }

    /** N = 8192, q = [44, 36, 36] bits (116 ≤ 218), Δ = 2^36; for residuals of length ≤ 4096. */
    public static CkksParameters n8192(int blockWidth) {
        return new CkksParameters(8192, List.of(44, 36, 36), 36, blockWidth);
    }

    /** The smallest default parameter set whose slots hold a block of {@code residualLength}. */
    public static CkksParameters forResidualLength(int residualLength) {
        if (residualLength <= 2048) {
            return n4096(residualLength);
        }
        return n8192(residualLength);
    }

    /** Slots per ciphertext (N/2). */
    public int slots() {
        return polyDegree / 2;
    }

    /** Vectors per ciphertext: ⌊slots / B⌋. */
    public int blocks() {
        return slots() / blockWidth;
    }
}
