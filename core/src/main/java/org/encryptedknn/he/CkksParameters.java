package org.encryptedknn.he;

import java.util.List;

/**
 * CKKS parameters of the coefficient-packed rescoring (docs/ckks-parameters.md).
 *
 * <p>The coefficient modulus is a single prime q: vectors are laid out in polynomial coefficients, one
 * {@code multiply_plain} computes ⌊(N − 1)/B⌋ inner products at scale Δ_q·Δ_c, and the product is returned as it is
 * (no rescale, no special prime: nothing is ever key-switched). The query is encoded at Δ_q = 2^scaleBits, the
 * candidates at Δ_c = 2^(bits − 4 − scaleBits), so inner products of magnitude below 4 decode with a factor 2 of
 * head room under q/2.
 *
 * @param polyDegree        N: 4096 or 8192
 * @param coeffModulusBits  the bit size of the one prime, 30..60, within the HomomorphicEncryption.org 128-bit table
 *                          (N=4096: 109, N=8192: 218)
 * @param scaleBits         log2 of the query scale Δ_q; the candidate scale gets the rest (both ≥ 16 bits)
 * @param blockWidth        B: coefficients per block; vectors are ≤ B long; ⌊(N − 1)/B⌋ blocks per ciphertext
 */
public record CkksParameters(int polyDegree, List<Integer> coeffModulusBits, int scaleBits, int blockWidth) {

    /**
     * Stored residual length d − d_pub + 1 (padded, record residual v2) for d = 384, d_pub = 96, the design's default
     * model: 14 blocks of 289 = 4046 slots &lt; 4096.
     */
    public static final int DEFAULT_BLOCK_WIDTH = 289;

    private static final int MAX_BITS_4096 = 109;
    private static final int MAX_BITS_8192 = 218;
    /** log2 of q / (Δ_q·Δ_c): scores up to 4 in magnitude, and a factor 2 for the noise. */
    private static final int HEAD_ROOM_BITS = 4;

    private static final int MIN_SCALE_BITS = 16;
    private static final int DEFAULT_PRIME_BITS = 50;
    private static final int DEFAULT_SCALE_BITS = 25;

    public CkksParameters {
        if (polyDegree != 4096 && polyDegree != 8192) {
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT, "polyDegree must be 4096 or 8192, got " + polyDegree);
        }
        coeffModulusBits = List.copyOf(coeffModulusBits);
        if (coeffModulusBits.size() != 1) {
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT,
                    "the coefficient modulus is one prime (coefficient packing needs no rescale), got "
                            + coeffModulusBits);
        }
        int bits = coeffModulusBits.get(0);
        if (bits < 30 || bits > 60) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT, "the prime must have 30..60 bits, got " + bits);
        }
        int max = polyDegree == 4096 ? MAX_BITS_4096 : MAX_BITS_8192;
        if (bits > max) {
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT,
                    "coefficient modulus of " + bits + " bits exceeds the 128-bit security bound of " + max
                            + " bits for N=" + polyDegree);
        }
        int product = bits - HEAD_ROOM_BITS;
        if (scaleBits < MIN_SCALE_BITS || product - scaleBits < MIN_SCALE_BITS) {
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT,
                    "scaleBits must be " + MIN_SCALE_BITS + ".."
                            + (product - MIN_SCALE_BITS) + " for a " + bits
                            + "-bit prime (the candidate scale gets the remaining "
                            + product + " − scaleBits bits), got " + scaleBits);
        }
        if (blockWidth < 1 || blockWidth >= polyDegree) {
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT,
                    "blockWidth must be 1.." + (polyDegree - 1) + ", got " + blockWidth);
        }
    }

    /** Default: N = 4096, q of 50 bits, Δ_q = 2^25, Δ_c = 2^21, B = 289 → 14 blocks per ciphertext. */
    public static CkksParameters defaults() {
        return n4096(DEFAULT_BLOCK_WIDTH);
    }

    /** N = 4096, q of 50 bits (≤ 109), Δ_q = 2^25; for residuals of length ≤ 4095. */
    public static CkksParameters n4096(int blockWidth) {
        return new CkksParameters(4096, List.of(DEFAULT_PRIME_BITS), DEFAULT_SCALE_BITS, blockWidth);
    }

    /** N = 8192, q of 50 bits (≤ 218), Δ_q = 2^25; for residuals of length ≤ 8191. */
    public static CkksParameters n8192(int blockWidth) {
        return new CkksParameters(8192, List.of(DEFAULT_PRIME_BITS), DEFAULT_SCALE_BITS, blockWidth);
    }

    /** The smallest default parameter set whose polynomial holds a block of {@code residualLength}. */
    public static CkksParameters forResidualLength(int residualLength) {
        if (residualLength < 4096) {
            return n4096(residualLength);
        }
        return n8192(residualLength);
    }

    /** log2 of the candidate scale Δ_c. */
    public int candidateScaleBits() {
        return coeffModulusBits.get(0) - HEAD_ROOM_BITS - scaleBits;
    }

    /** Vectors per ciphertext: ⌊(N − 1) / B⌋ (blocks · B &lt; N, so no product wraps around X^N + 1). */
    public int blocks() {
        return (polyDegree - 1) / blockWidth;
    }
}
