package org.encryptedknn.model;

import java.util.Locale;

/**
 * What the stage-1 prefix of a model's records holds before the prefix rotation and SAP (docs/design.md §2, §5.6), and
 * so the width of the HNSW vector: the one owner of that width ({@link #width}).
 *
 * <ul>
 *   <li>{@link #PLAIN}: u, the d_pub top coordinates (models fitted before prefix augmentation; their prefix norm
 *       ‖u‖ differs per record);</li>
 *   <li>{@link #AUGMENTED}: [u; t′] with t′ = √(B² − ‖u‖²), B the model's {@code prefix_norm}, and a query [u_q; 0]:
 *       every document prefix has norm B, and ‖[u_q; 0] − [u; t′]‖² = ‖u_q‖² + B² − 2⟨u_q, u⟩, so the L2 order of the
 *       prefixes is the inner-product order on u.</li>
 * </ul>
 */
public enum PrefixLayout {
    PLAIN,
    AUGMENTED;

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
