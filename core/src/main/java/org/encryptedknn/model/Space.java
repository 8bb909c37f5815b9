package org.encryptedknn.model;

import java.util.Locale;

/** The similarity a model preserves: cosine (vectors are normalized first) or inner product. */
public enum Space {
    COSINE("cosine"),
    INNER_PRODUCT("inner_product");

    private final String wireName;

    Space(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in REST bodies and stored models: {@code cosine} or {@code inner_product}. */
    public String wireName() {
        return wireName;
    }

    /** Parses {@code cosine}, {@code inner_product} (also {@code innerproduct}, case-insensitive). */
    public static Space parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            for (Space s : values()) {
                if (s.wireName.equals(n)
                        || s.name().toLowerCase(Locale.ROOT).equals(n)
                        || s.wireName.replace("_", "").equals(n)) {
                    return s;
                }
            }
        }
        throw new IllegalArgumentException("space must be one of [cosine, inner_product], got " + name);
    }
}
