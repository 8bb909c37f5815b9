package org.encryptedknn.protocol;

/**
 * The one owner of the keys of the {@code encrypted_knn} rescore (design.md §5.4), which the plugin parses and writes
 * and the gateway's query processor and the client build:
 *
 * <pre>{"field":"f","mode":"keyed","query":{"prefix":[…],"cells":{"17":"&lt;b64&gt;",…},"epoch":1,
 *  "ckks":{"poly_degree":4096,"coeff_modulus_bits":[50],"scale_bits":25,"block_width":288}}}</pre>
 *
 * <p>{@code prefix} is the stage-1 query prefix p_q itself (no second, scaled copy, whose ratio to p_q would be the SAP
 * scale s); {@code cells} values are base64 float32 s²·H_c r_q
 * ({@link org.encryptedknn.transform.VectorTransform#rescoreResidualQuery}, keyed: the data node's sum is s² times the
 * score) or CKKS ciphertexts of H_c r_q in the {@code EKW1} wire form (ckks); {@code ckks} only in ckks mode.
 */
public final class RescoreQueryFormat {

    /** The rescorer's name under {@code rescore}. */
    public static final String NAME = "encrypted_knn";

    public static final String FIELD = "field";
    public static final String MODE = "mode";
    public static final String QUERY = "query";

    /** The keys of {@code query}. */
    public static final class Query {
        public static final String PREFIX = "prefix";
        public static final String CELLS = "cells";
        public static final String EPOCH = "epoch";
        public static final String CKKS = "ckks";

        private Query() {}
    }

    /** The keys of {@code query.ckks}, the CKKS parameters the ciphertexts were made with. */
    public static final class Ckks {
        private Ckks() {}

        public static final String POLY_DEGREE = "poly_degree";
        public static final String COEFF_MODULUS_BITS = "coeff_modulus_bits";
        public static final String SCALE_BITS = "scale_bits";
        public static final String BLOCK_WIDTH = "block_width";
    }

    private RescoreQueryFormat() {}
}
