package org.encryptedknn.mapper;

import org.encryptedknn.model.PrefixLayout;

/**
 * The mapping parameters of one {@code encrypted_knn_vector} field, resolved (defaults applied).
 *
 * @param field           full field path, used in every error message
 * @param modelId         the model whose keys encrypted the stored vectors
 * @param dimension       d, the full embedding dimension
 * @param prefixDimension d_pub, the length of the DCPE prefix p indexed by HNSW
 * @param cells           C, the number of k-means cells (cell ids are 0 … C−1)
 * @param m               HNSW max connections
 * @param efConstruction  HNSW beam width at build time
 * @param residualNorm    T, the model's {@code residual_norm}: a padded record's z has norm T, an unpadded one's at
 *                        most T ({@link EncryptedVectorParser})
 * @param prefixLayout    the model's {@code prefix_layout}: the HNSW vector p has {@link #prefixWidth()} values
 */
public record EncryptedFieldSpec(
        String field,
        String modelId,
        int dimension,
        int prefixDimension,
        int cells,
        int m,
        int efConstruction,
        double residualNorm,
        PrefixLayout prefixLayout) {

    /** T of every cosine model (unit vectors: ‖r‖ ≤ 1), the mapping's default. */
    public static final double DEFAULT_RESIDUAL_NORM = 1.0;

    /** Length of the stored prefix p, the HNSW vector: d_pub, plus one for the augmented layout. */
    public int prefixWidth() {
        return prefixLayout.width(prefixDimension);
    }

    /** Length of the keyed residual z: d − d_pub. */
    public int residualDimension() {
        return dimension - prefixDimension;
    }

    /** The common prefix of the mapper's error messages: {@code field [embedding] of type [encrypted_knn_vector]}. */
    public String describe() {
        return "field [" + field + "] of type [" + EncryptedKnnVectorFieldMapper.CONTENT_TYPE + "]";
    }
}
