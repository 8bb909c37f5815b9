package org.encryptedknn.model;

import java.util.Locale;

/**
 * What the stage-1 prefix of a model's records holds before the prefix rotation and SAP (docs/design.md §2, §5.6), and
 * so the width of the HNSW vector: the one owner of that width ({@link #width}).
 *
 * <ul>
 *   <li>{@link #PLAIN}: u, the d_pub top coordinates (models fitted before prefix augmentation; their prefix norm
 *       ‖u‖ differs per record);</li>
 *   <li>{@link #AUGMENTED}: [u; t′] with t′ = √(B² − ‖u‖²), B the model's {@code prefix_norm}, and a query
 *       [u_q; a] ({@link #queryCoordinate}): every document prefix has norm B, and ‖[u_q; a] − [u; t′]‖² =
 *       ‖u_q‖² + a² + B² − 2(⟨u_q, u⟩ + a·t′), so the L2 order of the prefixes is the order of ⟨u_q, u⟩ + a·t′.</li>
 * </ul>
 */
public enum PrefixLayout {
    PLAIN,
    AUGMENTED;

    /**
     * ρ of {@link #queryCoordinate}: the weight of the residual prior in the stage-1 order of a cosine model. Chosen with
     * a brute-force stage 1 (no graph, no noise) over MiniLM vectors: a window of 100 holds 0.946 → 0.978 of the true
     * top 10 on 10^5 real Debian descriptions and 0.970 → 0.992 on 10^5 matched synthetic ones for ρ = 0 → 0.5, and
     * 0.995 → 0.997 on the 5,846 SpamAssassin mails; 0.7 gains a little more at 10^5 and loses at 6k, 1.0 loses
     * everywhere (docs/performance.md, "The query's residual prior").
     */
    public static final double QUERY_RESIDUAL_WEIGHT = 0.5;

    /**
     * The augmentation coordinate a of a query prefix u_q (of squared norm {@code queryPrefixNorm2}) under the augmented
     * layout. For a cosine model (B = 1, unit vectors) t′ = ‖r‖ and a = ρ·‖r_q‖ = ρ·√(1 − ‖u_q‖²), so stage 1 orders
     * by ⟨u_q, u⟩ + ρ‖r_q‖‖r‖: the prefix term plus a prior for the residual term ⟨r_q, r⟩ that the rerank adds exactly
     * — without it (a = 0) a document with a long prefix and a short residual outranks true neighbours, and such
     * distractors grow with N. a is a function of ‖u_q‖, which the query prefix's norm shows anyway. For inner
     * product t′ is not ‖r‖, and a = 0.
     */
    public static double queryCoordinate(double prefixNorm, double queryPrefixNorm2, boolean cosine) {
        if (!cosine || prefixNorm == 0) {
            return 0;
        }
        return QUERY_RESIDUAL_WEIGHT * Math.sqrt(Math.max(0, prefixNorm * prefixNorm - queryPrefixNorm2));
    }

    /** The layout of a model with this {@code prefix_norm} B (0: plain). */
    public static PrefixLayout of(double prefixNorm) {
        return prefixNorm > 0 ? AUGMENTED : PLAIN;
    }

    /** The name in the model JSON and the mapping ({@code prefix_layout}). */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Length of the stored prefix p (the HNSW vector) for a model of prefix dimension d_pub. */
    public int width(int prefixDimension) {
        return this == AUGMENTED ? prefixDimension + 1 : prefixDimension;
    }

    /** @throws IllegalArgumentException naming {@code field} for anything but {@code plain} or {@code augmented} */
    public static PrefixLayout parse(String value, String field) {
        for (PrefixLayout layout : values()) {
            if (layout.wireName().equals(value)) {
                return layout;
            }
        }
        throw new IllegalArgumentException(
                "[" + field + "] must be 'plain' or 'augmented', got " + (value == null ? "null" : "'" + value + "'"));
    }
}
