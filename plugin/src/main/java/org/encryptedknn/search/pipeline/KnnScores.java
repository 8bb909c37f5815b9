package org.encryptedknn.search.pipeline;

import java.util.List;
import org.encryptedknn.model.Space;

/**
 * The k-NN plugin's score conventions (its {@code SpaceType#scoreTranslation}, the same as Lucene's
 * {@code VectorSimilarityFunction}), so a {@code min_score} written for the k-NN plugin keeps its meaning on an
 * encrypted field. The rerank's exact similarity becomes:
 * <ul>
 *   <li>{@code cosinesimil} (model space cosine): max((1 + cos) / 2, 0), k-NN's max((2 − (1 − cos)) / 2, 0);</li>
 *   <li>{@code innerproduct} (model space inner_product): ip + 1 for ip ≥ 0, 1 / (1 − ip) below, k-NN's translation of
 *       its raw score −ip;</li>
 *   <li>{@code l2} (a cosine model, unit-length documents): 1 / (1 + d²) with d² = ‖q − x‖² = ‖q‖² + 1 − 2‖q‖·cos,
 *       exact for any query q because ‖x‖ = 1 (the drop-in ingest refuses other documents).</li>
 * </ul>
 */
final class KnnScores {

    private final Space space;
    /** ‖q‖ of an l2 field's query; NaN for the model space's convention. */
    private final double l2QueryNorm;

    private KnnScores(Space space, double l2QueryNorm) {
        this.space = space;
        this.l2QueryNorm = l2QueryNorm;
    }

    /** The convention of the model's own space ({@code cosinesimil} or {@code innerproduct}). */
    static KnnScores of(Space space) {
        return new KnnScores(space, Double.NaN);
    }

    /** The l2 convention for the query {@code vector} (numbers) over a cosine model. */
    static KnnScores l2(List<?> vector) {
        double norm2 = 0;
        for (Object v : vector) {
            // the query as the k-NN plugin reads it, float32 (the query processor has refused what is not a number)
            float f = v instanceof Number n ? n.floatValue() : Float.parseFloat(String.valueOf(v));
            norm2 += (double) f * f;
        }
        return new KnnScores(Space.COSINE, Math.sqrt(norm2));
    }

    /** The k-NN score of the rerank's exact similarity (cosine or inner product, as the model's space says). */
    float score(double similarity) {
        if (Double.isNaN(l2QueryNorm) == false) {
            double d2 = Math.max(0, l2QueryNorm * l2QueryNorm + 1 - 2 * l2QueryNorm * similarity);
            return (float) (1 / (1 + d2));
        }
        float s = (float) similarity; // in float, as the k-NN plugin computes it
        return switch (space) {
            case COSINE -> Math.max((2.0F - (1.0F - s)) / 2.0F, 0.0F);
            case INNER_PRODUCT -> {
                float raw = -s;
                yield raw >= 0 ? 1 / (1 + raw) : -raw + 1;
            }
        };
    }
}
