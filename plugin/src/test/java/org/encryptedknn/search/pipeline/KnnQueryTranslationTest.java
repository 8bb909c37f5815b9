package org.encryptedknn.search.pipeline;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.encryptedknn.model.Space;
import org.junit.Test;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;

/**
 * The JSON-level translation of the k-NN plugin's {@code knn} query, and k-NN's score conventions. The positions the
 * in-JVM node cannot parse (neural-search's {@code hybrid}: no reachable registry serves neural-search, so neither
 * that node nor the node of scripts/test.sh has it) are covered here: the translation never needs the compound
 * query's class.
 */
public class KnnQueryTranslationTest {

    static Map<String, Object> json(String s) throws IOException {
        return XContentHelper.convertToMap(new BytesArray(s), true, XContentType.JSON)
                .v2();
    }

    static final String KNN = "{\"knn\":{\"vector_field\":{\"vector\":[0.5,1.5],\"k\":10}}}";
    /** k leaves the query (the window is the model's, at least k) and bounds the answer ({@link KnnQueryTranslation#k}). */
    static final String ENCRYPTED = "{\"encrypted_knn\":{\"vector_field\":{\"vector\":[0.5,1.5]}}}";

    @Test
    public void hybridAsLangChainAndLlamaIndexSendIt() throws IOException {
        Map<String, Object> query = json("{\"hybrid\":{\"queries\":[{\"match\":{\"text\":\"offer\"}}," + KNN + "]}}");
        KnnQueryTranslation t = KnnQueryTranslation.translate(query, "vector_field"::equals);
        assertEquals("vector_field", t.field);
        assertEquals(json("{\"hybrid\":{\"queries\":[{\"match\":{\"text\":\"offer\"}}," + ENCRYPTED + "]}}"), t.query);
        assertSame(((List<?>) ((Map<?, ?>) query.get("hybrid")).get("queries")).get(1), t.slot);
    }

    @Test
    public void topLevelBoolDisMaxAndFunctionScore() throws IOException {
        Map<String, Object> top = json(KNN);
        KnnQueryTranslation t = KnnQueryTranslation.translate(top, "vector_field"::equals);
        assertSame(top, t.slot);
        assertEquals(json(ENCRYPTED), top);
        assertEquals(10, t.k);
        for (String wrapper : new String[] {
            "{\"bool\":{\"must\":[%s],\"filter\":[{\"term\":{\"c\":\"x\"}}]}}",
            "{\"bool\":{\"should\":%s}}",
            "{\"dis_max\":{\"queries\":[%s]}}",
            "{\"function_score\":{\"query\":%s,\"boost\":2}}",
            "{\"bool\":{\"filter\":[{\"bool\":{\"must\":[%s]}}]}}",
        }) {
            Map<String, Object> q = json(String.format(Locale.ROOT, wrapper, KNN));
            KnnQueryTranslation.translate(q, "vector_field"::equals);
            assertEquals(wrapper, json(String.format(Locale.ROOT, wrapper, ENCRYPTED)), q);
        }
    }

    @Test
    public void optionsThatCarryOverAndOptionsThatDoNot() throws IOException {
        Map<String, Object> q =
                json("{\"knn\":{\"vector_field\":{\"vector\":[1,2],\"k\":5,\"filter\":{\"term\":{\"c\":\"x\"}},"
                        + "\"method_parameters\":{\"ef_search\":64},\"boost\":2.0,\"_name\":\"v\","
                        + "\"expand_nested_docs\":false,\"ignore_unmapped\":true}}}");
        assertEquals(5, KnnQueryTranslation.translate(q, "vector_field"::equals).k);
        assertEquals(
                json("{\"encrypted_knn\":{\"vector_field\":{\"vector\":[1,2],\"filter\":{\"term\":{\"c\":\"x\"}},"
                        + "\"num_candidates\":64,\"boost\":2.0,\"_name\":\"v\"}}}"),
                q);
        for (String[] c : new String[][] {
            {"\"min_score\":0.9", "[min_score]"},
            {"\"max_distance\":3", "[max_distance]"},
            {"\"rescore\":{\"oversample_factor\":2}", "[rescore]"},
            {"\"method_parameters\":{\"nprobes\":4}", "[method_parameters.nprobes]"},
            {"\"expand_nested_docs\":true", "[expand_nested_docs]"},
        }) {
            Map<String, Object> bad = json("{\"knn\":{\"vector_field\":{\"vector\":[1,2],\"k\":5," + c[0] + "}}}");
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> KnnQueryTranslation.translate(bad, "vector_field"::equals));
            assertTrue(e.getMessage(), e.getMessage().contains("encrypted field [vector_field]"));
            assertTrue(e.getMessage(), e.getMessage().contains(c[1]));
        }
    }

    @Test
    public void plaintextFieldsAreLeftToTheKnnPluginAndTwoEncryptedKnnAreRefused() throws IOException {
        Map<String, Object> other = json("{\"knn\":{\"plain_field\":{\"vector\":[1,2],\"k\":5}}}");
        KnnQueryTranslation t = KnnQueryTranslation.translate(other, "vector_field"::equals);
        assertNull(t.field);
        assertEquals(json("{\"knn\":{\"plain_field\":{\"vector\":[1,2],\"k\":5}}}"), other);

        Map<String, Object> two = json("{\"bool\":{\"should\":[" + KNN + "," + KNN + "]}}");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> KnnQueryTranslation.translate(two, "vector_field"::equals));
        assertTrue(e.getMessage(), e.getMessage().contains("one [knn] query on an encrypted field, found 2"));
    }

    /** LlamaIndex's filtered search on OpenSearch 3.x, and LangChain's knn_score script: a 400 naming the knn query. */
    @Test
    public void scriptScoresOverAnEncryptedFieldAreRefused() throws IOException {
        for (String script : new String[] {
            "{\"source\":\"1/(1.0 + l2Squared(params.query_value, doc['vector_field']))\",\"params\":{\"query_value\":[1,2]}}",
            "{\"source\":\"cosineSimilarity(params.query_value, doc[\\\"vector_field\\\"]) + 1.0\",\"params\":{\"query_value\":[1,2]}}",
            "{\"source\":\"knn_score\",\"lang\":\"knn\",\"params\":{\"field\":\"vector_field\",\"query_value\":[1,2],\"space_type\":\"cosinesimil\"}}",
        }) {
            Map<String, Object> q =
                    json("{\"script_score\":{\"query\":{\"bool\":{\"filter\":{\"term\":{\"c\":\"x\"}}}},\"script\":"
                            + script + "}}");
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> KnnQueryTranslation.translate(q, "vector_field"::equals));
            assertTrue(
                    e.getMessage(), e.getMessage().contains("[script_score] reads the encrypted field [vector_field]"));
            assertTrue(e.getMessage(), e.getMessage().contains("use the [knn] query"));
        }
        // a script over other fields is not the translation's business
        Map<String, Object> other = json("{\"script_score\":{\"query\":{\"match_all\":{}},\"script\":"
                + "{\"source\":\"doc['price'].value * 2\"}}}");
        assertNull(KnnQueryTranslation.translate(other, "vector_field"::equals).field);
    }

    /** k-NN's SpaceType#scoreTranslation of its raw scores: cosinesimil raw 1 − cos, innerproduct raw −ip. */
    @Test
    public void scoresInTheKnnPluginsConventions() {
        KnnScores cosine = KnnScores.of(Space.COSINE);
        KnnScores innerProduct = KnnScores.of(Space.INNER_PRODUCT);
        assertEquals(1.0f, cosine.score(1.0), 0f);
        assertEquals(0.75f, cosine.score(0.5), 1e-7f);
        assertEquals(0.0f, cosine.score(-1.0), 0f);
        assertEquals(3.5f, innerProduct.score(2.5), 1e-6f);
        assertEquals(1.0f, innerProduct.score(0.0), 0f);
        assertEquals(1f / 3f, innerProduct.score(-2.0), 1e-7f);
    }

    /**
     * l2 over a cosine model: from the exact cosine and ‖q‖ alone, k-NN's 1 / (1 + ‖q − x‖²) of a unit document x,
     * for queries of any length, against the distance computed on the vectors in float as Lucene does.
     */
    @Test
    public void l2ScoresOfUnitDocumentsFromTheCosine() {
        java.util.Random random = new java.util.Random(16);
        int d = 384;
        for (int trial = 0; trial < 200; trial++) {
            float[] x = new float[d];
            float[] q = new float[d];
            double xx = 0;
            for (int i = 0; i < d; i++) {
                x[i] = (float) random.nextGaussian();
                xx += (double) x[i] * x[i];
            }
            double queryScale = trial % 4 == 0 ? 1 : 0.1 + 3 * random.nextDouble(); // unit and other lengths
            for (int i = 0; i < d; i++) {
                x[i] = (float) (x[i] / Math.sqrt(xx));
                q[i] = (float) ((trial % 3 == 0 ? x[i] : 0) + random.nextGaussian() * queryScale / Math.sqrt(d));
            }
            double qx = 0;
            double qq = 0;
            float squareDistance = 0;
            List<Float> query = new java.util.ArrayList<>();
            for (int i = 0; i < d; i++) {
                qx += (double) q[i] * x[i];
                qq += (double) q[i] * q[i];
                float diff = q[i] - x[i];
                squareDistance += diff * diff;
                query.add(q[i]);
            }
            float knn = 1 / (1 + squareDistance); // k-NN's SpaceType.L2 scoreTranslation, Lucene's EUCLIDEAN
            assertEquals(knn, KnnScores.l2(query).score(qx / Math.sqrt(qq)), 1e-6f);
        }
        assertEquals(1.0f, KnnScores.l2(List.of(1, 0)).score(1.0), 0f); // q = x
        assertEquals(0.2f, KnnScores.l2(List.of(-1, 0)).score(-1.0), 1e-7f); // ‖q − x‖² = 4
    }
}
