package org.encryptedknn.rescore;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.HeException;

/**
 * The CKKS parameter sets a data node accepts in {@code mode: ckks}, and the node's cache of the matching SEAL
 * contexts.
 *
 * <p>Parameters arrive in the request, so they are untrusted: they are compared with a fixed allow-list (the two sets
 * of docs/ckks-parameters.md; any block width 1..N − 1) <em>before</em> any native call. A context is created once per
 * (parameters, block width) and never closed (contexts are a few hundred KB and are shared by concurrent requests;
 * closing one under a running request would fail it). The number of distinct contexts is capped, so a client cycling
 * through block widths cannot grow native memory without bound.
 */
public final class CkksContexts {

    /** Allowed (poly_degree, coeff_modulus_bits, scale_bits); the block width is free within 1..N − 1. */
    public static final List<CkksParameters> ALLOWED = List.of(CkksParameters.n4096(1), CkksParameters.n8192(1));

    /** Distinct contexts one node keeps (each distinct block width of each allowed set is one). */
    public static final int MAX_CONTEXTS = 32;

    private static final Map<CkksParameters, CkksContext> CACHE = new ConcurrentHashMap<>();

    private CkksContexts() {}

    /**
     * Checks untrusted parameters against {@link #ALLOWED}; returns the canonical record. No native call.
     *
     * @throws IllegalArgumentException naming {@code path} when the set is not allowed
     */
    public static CkksParameters check(
            int polyDegree, List<Integer> coeffModulusBits, int scaleBits, int blockWidth, String path) {
        for (CkksParameters allowed : ALLOWED) {
            if (allowed.polyDegree() == polyDegree
                    && allowed.coeffModulusBits().equals(coeffModulusBits)
                    && allowed.scaleBits() == scaleBits) {
                if (blockWidth < 1 || blockWidth >= polyDegree) {
                    throw CkksRescorePayload.bad(
                            path + ".block_width", "must be in [1, " + (polyDegree - 1) + "], got " + blockWidth);
                }
                return new CkksParameters(polyDegree, coeffModulusBits, scaleBits, blockWidth);
            }
        }
        throw CkksRescorePayload.bad(
                path,
                "parameters {poly_degree: " + polyDegree + ", coeff_modulus_bits: " + coeffModulusBits
                        + ", scale_bits: " + scaleBits + "} are not accepted; allowed: " + describeAllowed());
    }

    static String describeAllowed() {
        StringBuilder sb = new StringBuilder();
        for (CkksParameters p : ALLOWED) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append("{poly_degree: ")
                    .append(p.polyDegree())
                    .append(", coeff_modulus_bits: ")
                    .append(p.coeffModulusBits())
                    .append(", scale_bits: ")
                    .append(p.scaleBits())
                    .append("}");
        }
        return sb.toString();
    }

    /** The node's context for already checked parameters (created on first use). */
    public static CkksContext get(CkksParameters params) {
        CkksContext existing = CACHE.get(params);
        if (existing != null) {
            return existing;
        }
        synchronized (CACHE) {
            existing = CACHE.get(params);
            if (existing != null) {
                return existing;
            }
            if (CACHE.size() >= MAX_CONTEXTS) {
                throw new IllegalArgumentException(
                        "[encrypted_knn] rescore.encrypted_knn.query.ckks: this node already holds " + MAX_CONTEXTS
                                + " distinct CKKS contexts; use the block width of the field (dimension - prefix_dimension)");
            }
            CkksContext created;
            try {
                created = CkksContext.create(params);
            } catch (HeException e) {
                if (e.isInputError()) {
                    throw CkksRescorePayload.bad("ckks", e.getMessage());
                }
                throw e;
            }
            CACHE.put(params, created);
            return created;
        }
    }

    /** Contexts currently cached (for stats and tests). */
    public static int size() {
        return CACHE.size();
    }
}
