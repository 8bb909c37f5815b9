package org.encryptedknn.search.pipeline;

import org.encryptedknn.model.Space;

/**
 * The k-NN plugin's score conventions (its {@code SpaceType#scoreTranslation}, the same as Lucene's
 * {@code VectorSimilarityFunction}), so a {@code min_score} written for the k-NN plugin keeps its meaning on an
 * encrypted field:
 * <ul>
 *   <li>{@code cosinesimil} (model space cosine): max((1 + cos) / 2, 0), k-NN's max((2 − (1 − cos)) / 2, 0);</li>
 *   <li>{@code innerproduct} (model space inner_product): ip + 1 for ip ≥ 0, 1 / (1 − ip) below, k-NN's translation of
 *       its raw score −ip.</li>
 * </ul>
 * Computed in float, as the k-NN plugin does.
 */
final class KnnScores {

    private KnnScores() {}

    /** The k-NN score of an exact similarity (cosine or inner product, as the model's space says). */
    static float fromSimilarity(Space space, double similarity) {
        float s = (float) similarity;
        return switch (space) {
            case COSINE -> Math.max((2.0F - (1.0F - s)) / 2.0F, 0.0F);
            case INNER_PRODUCT -> {
                float raw = -s;
                yield raw >= 0 ? 1 / (1 + raw) : -raw + 1;
            }
        };
    }
}
