package org.encryptedknn.transform;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Who scores the residual term of an encrypted search, and so what the storage tier learns beyond the encrypted
 * prefix query it needs for the HNSW search (docs/security.md). The same names are used by the gateway's
 * {@code encrypted_knn_query} processor ({@code mode}), the client library and the CLI ({@code --mode}).
 */
public enum SearchMode {
    /**
     * The default: the data node receives the encrypted prefix query and nothing else; it returns the window's
     * records and the key holder scores every hit exactly from its z. No residual query, no score leaves the key
     * holder.
     */
    KEY_HOLDER("key_holder", false),
    /**
     * The query residuals travel as CKKS ciphertexts; the data node multiplies them homomorphically with the stored
     * residuals and learns neither the query residuals nor the scores; the searching party learns only scores.
     */
    CKKS("ckks", true),
    /**
     * Opt-in: the query carries the keyed residuals H_c r_q of the probed cells in clear, and the data node computes
     * exact scores. It leaks those residuals (queries that probe the same cells let the data node link cells by least
     * squares) and the scores of the window.
     */
    KEYED_LEAKS_QUERY_RESIDUALS("keyed_leaks_query_residuals", true);

    /** Name of the mode before it had to state what it leaks; refused with a pointer to the new names. */
    static final String OLD_KEYED = "keyed";

    private final String wireName;
    private final boolean sendsResidualQueries;

    SearchMode(String wireName, boolean sendsResidualQueries) {
        this.wireName = wireName;
        this.sendsResidualQueries = sendsResidualQueries;
    }

    public String wireName() {
        return wireName;
    }

    /** The request carries per-cell residual queries (in clear or encrypted) and so a rescore. */
    public boolean sendsResidualQueries() {
        return sendsResidualQueries;
    }

    /** All names, for messages: {@code [key_holder], [ckks], [keyed_leaks_query_residuals]}. */
    public static String names() {
        return Arrays.stream(values()).map(m -> "[" + m.wireName + "]").collect(Collectors.joining(", "));
    }

    /**
     * The mode named {@code value}; an unknown name is an {@link IllegalArgumentException} that names the accepted
     * values (never the value itself, which may be anything a caller sent).
     */
    public static SearchMode fromString(String value) {
        for (SearchMode mode : values()) {
            if (mode.wireName.equals(value)) {
                return mode;
            }
        }
        if (OLD_KEYED.equals(value != null ? value.toLowerCase(Locale.ROOT) : null)) {
            throw new IllegalArgumentException("[keyed] was renamed [keyed_leaks_query_residuals] (it sends the keyed"
                    + " query residuals to the data node); the default [key_holder] sends none. Accepted: " + names());
        }
        throw new IllegalArgumentException("must be one of " + names());
    }
}
