package org.encryptedknn.keystore;

import static org.encryptedknn.keystore.GatewaySingleNodeTests.DIM;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.KEY;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.allMessages;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.gaussian;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.json;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.modelBody;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.secure;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.withKey;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.encryptedknn.plugin.EncryptedKnnPlugin;
import org.encryptedknn.rest.RestModelsAction;
import org.encryptedknn.settings.EncryptedKnnSettings;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginsService;
import org.opensearch.rest.RestRequest;
import org.opensearch.test.OpenSearchSingleNodeTestCase;
import org.opensearch.transport.client.node.NodeClient;

/**
 * The drop-in opt-in ({@code index.encrypted_knn.model_id}) on a real in-JVM node: plaintext vectors written by an
 * application that names no pipeline (or names another one) are stored encrypted. Must run as an unprivileged user.
 */
public class DropInSingleNodeTests extends OpenSearchSingleNodeTestCase {

    static final String MODEL = "dropin";

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(
                EncryptedKnnPlugin.class, KnnQueryParserStandIn.class, GatewaySingleNodeTests.ShardRequests.class);
    }

    @Override
    protected Settings nodeSettings() {
        return withKey(super.nodeSettings());
    }

    @Override
    protected boolean resetNodeAfterTest() {
        return false;
    }

    EncryptedKnnPlugin plugin() {
        return getInstanceFromNode(PluginsService.class)
                .filterPlugins(EncryptedKnnPlugin.class)
                .get(0);
    }

    void ensureModel() throws Exception {
        GatewaySingleNodeTests.Reply r = GatewaySingleNodeTests.rest(
                plugin(),
                getInstanceFromNode(NodeClient.class),
                RestRequest.Method.PUT,
                RestModelsAction.BASE + "/" + MODEL,
                Map.of("model_id", MODEL),
                modelBody(4, gaussian(200, 11)));
        assertTrue(r.raw(), r.status() == RestStatus.CREATED || r.status() == RestStatus.CONFLICT);
    }

    /** The application's index: the opt-in setting and an ordinary mapping with the app's own field name. */
    void createAppIndex(String index, String mapping) {
        client().admin()
                .indices()
                .prepareCreate(index)
                .setSettings(Settings.builder()
                        .put(EncryptedKnnSettings.INDEX_MODEL_ID, MODEL)
                        .put("index.number_of_shards", 1)
                        .put("index.number_of_replicas", 0))
                .setMapping(mapping)
                .get();
    }

    static String encryptedMapping(String field) {
        return "{\"properties\":{\"text\":{\"type\":\"text\"},\"category\":{\"type\":\"keyword\"},\"" + field
                + "\":{\"type\":\"encrypted_knn_vector\",\"model_id\":\"" + MODEL + "\",\"dimension\":" + DIM
                + ",\"prefix_dimension\":4,\"cells\":4}}}";
    }

    static void assertRecord(Object value) {
        assertTrue(String.valueOf(value), value instanceof Map<?, ?>);
        Map<?, ?> record = (Map<?, ?>) value;
        for (String key : List.of("p", "n", "s", "e")) { // the default record form, sealed
            assertTrue(key + " in " + record, record.containsKey(key));
        }
    }

    public void testEveryWritePathEncryptsWithoutAPipeline() throws Exception {
        ensureModel();
        createAppIndex("app-writes", encryptedMapping("vector_field"));
        client().admin()
                .cluster()
                .preparePutPipeline(
                        "app-own",
                        new BytesArray("{\"description\":\"the application's own\",\"processors\":[]}"),
                        MediaTypeRegistry.JSON)
                .get();
        float[][] docs = gaussian(6, 12);

        // bulk of plaintext arrays under the app's own field name, no pipeline named
        BulkRequestBuilder bulk = client().prepareBulk();
        for (int i = 0; i < 3; i++) {
            bulk.add(client().prepareIndex("app-writes")
                    .setId("b" + i)
                    .setSource("{\"vector_field\":" + json(docs[i]) + ",\"text\":\"t" + i + "\"}", XContentType.JSON));
        }
        BulkResponse bulkResponse = bulk.get();
        assertFalse(bulkResponse.buildFailureMessage(), bulkResponse.hasFailures());

        // a request naming another pipeline, and one naming none at all, do not bypass it
        client().prepareIndex("app-writes")
                .setId("own")
                .setPipeline("app-own")
                .setSource("{\"vector_field\":" + json(docs[3]) + "}", XContentType.JSON)
                .get();
        client().prepareIndex("app-writes")
                .setId("none")
                .setPipeline("_none")
                .setSource("{\"vector_field\":" + json(docs[4]) + "}", XContentType.JSON)
                .get();
        // a partial update with a new plaintext vector, and a document without one
        client().prepareUpdate("app-writes", "b0")
                .setDoc("{\"vector_field\":" + json(docs[5]) + "}", XContentType.JSON)
                .get();
        client().prepareIndex("app-writes")
                .setId("novector")
                .setSource("{\"text\":\"no vector\"}", XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();

        for (String id : List.of("b0", "b1", "b2", "own", "none")) {
            Map<String, Object> source =
                    client().prepareGet("app-writes", id).get().getSourceAsMap();
            assertRecord(source.get("vector_field"));
        }
        assertEquals(
                "no vector",
                client().prepareGet("app-writes", "novector")
                        .get()
                        .getSourceAsMap()
                        .get("text"));
        assertEquals(
                6,
                client().prepareSearch("app-writes")
                        .setSize(0)
                        .get()
                        .getHits()
                        .getTotalHits()
                        .value());
    }

    public void testWrongDimensionIsA400NamingTheField() throws Exception {
        ensureModel();
        createAppIndex("app-bad", encryptedMapping("embedding"));
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("app-bad")
                        .setId("x")
                        .setSource("{\"embedding\":[1,2,3]}", XContentType.JSON)
                        .get());
        assertTrue(allMessages(e), allMessages(e).contains("embedding"));
        assertFalse(client().prepareGet("app-bad", "x").get().isExists());
    }

    public void testIndexWithoutTheSettingIsUnchanged() throws Exception {
        ensureModel();
        client().admin()
                .indices()
                .prepareCreate("not-opted-in")
                .setSettings(Settings.builder().put(EncryptedKnnSettings.INDEX_ENCRYPTED_KNN, true))
                .setMapping(encryptedMapping("embedding"))
                .get();
        assertPlainVectorRefused("not-opted-in", "accepts only encrypted vectors");
    }

    /** A plaintext vector written to {@code index}'s field embedding is refused with {@code message}; nothing is stored. */
    void assertPlainVectorRefused(String index, String message) {
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareIndex(index)
                        .setId("x")
                        .setSource("{\"embedding\":" + json(gaussian(1, 3)[0]) + "}", XContentType.JSON)
                        .get());
        assertTrue(allMessages(e), allMessages(e).contains(message));
        assertFalse(client().prepareGet(index, "x").get().isExists());
    }

    public void testWithoutTheKeyNothingIsWritten() throws Exception {
        ensureModel();
        createAppIndex("app-nokey", encryptedMapping("embedding"));
        plugin().reload(Settings.builder().setSecureSettings(secure(null)).build());
        try {
            assertPlainVectorRefused("app-nokey", KeystoreSettings.MASTER_KEY);
        } finally {
            plugin().reload(Settings.builder().setSecureSettings(secure(KEY)).build());
        }
    }

    // ------------------------------------------------------------------ the k-NN plugin's knn query

    /** 60 documents in an opted-in index, written as plaintext; the exact cosine of each to {@code q}. */
    float[][] indexCorpus(String index) throws Exception {
        ensureModel();
        createAppIndex(index, encryptedMapping("vector_field"));
        float[][] docs = gaussian(60, 21);
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < docs.length; i++) {
            bulk.add(client().prepareIndex(index)
                    .setId("d" + i)
                    .setSource(
                            "{\"vector_field\":" + json(docs[i]) + ",\"text\":\"doc " + i + "\",\"category\":\""
                                    + (i % 2 == 0 ? "even" : "odd") + "\"}",
                            XContentType.JSON));
        }
        BulkResponse r = bulk.get();
        assertFalse(r.buildFailureMessage(), r.hasFailures());
        return docs;
    }

    /** Ids by descending exact cosine (only those {@code keep} accepts), and k-NN's cosinesimil score of each. */
    static List<Map.Entry<String, Float>> expected(float[][] docs, float[] q, java.util.function.IntPredicate keep) {
        List<Map.Entry<String, Float>> out = new java.util.ArrayList<>();
        for (int i = 0; i < docs.length; i++) {
            if (keep.test(i)) {
                double cos = org.encryptedknn.transform.VectorTransform.similarity(
                        docs[i], q, org.encryptedknn.model.Space.COSINE);
                out.add(Map.entry("d" + i, (float) ((1 + cos) / 2)));
            }
        }
        out.sort(Map.Entry.<String, Float>comparingByValue().reversed());
        return out;
    }

    org.opensearch.action.search.SearchResponse search(String index, String pipeline, String body) throws Exception {
        org.opensearch.search.builder.SearchSourceBuilder source;
        try (var parser = createParser(XContentType.JSON.xContent(), body)) {
            source = org.opensearch.search.builder.SearchSourceBuilder.fromXContent(parser);
        }
        org.opensearch.action.search.SearchRequest request =
                new org.opensearch.action.search.SearchRequest(index).source(source);
        if (pipeline != null) {
            request.pipeline(pipeline);
        }
        return client().search(request).actionGet();
    }

    static void assertRanking(
            List<Map.Entry<String, Float>> expected, org.opensearch.action.search.SearchResponse response, int n) {
        org.opensearch.search.SearchHit[] hits = response.getHits().getHits();
        assertEquals(response.toString(), n, hits.length);
        for (int i = 0; i < n; i++) {
            assertEquals(response.toString(), expected.get(i).getKey(), hits[i].getId());
            assertEquals(expected.get(i).getValue(), hits[i].getScore(), 1e-4);
        }
        assertEquals(expected.get(0).getValue(), response.getHits().getMaxScore(), 1e-4);
    }

    static String knn(float[] q, int k, String extra) {
        return "{\"knn\":{\"vector_field\":{\"vector\":" + json(q) + ",\"k\":" + k + extra + "}}}";
    }

    public void testKnnQueryAnswersLikeTheKnnPluginWhereverItSits() throws Exception {
        float[][] docs = indexCorpus("app-knn");
        float[] q = gaussian(1, 99)[0];
        List<Map.Entry<String, Float>> all = expected(docs, q, i -> true);
        GatewaySingleNodeTests.ShardRequests.SEEN.clear();

        // top level, then inside bool must / should / filter and dis_max
        assertRanking(all, search("app-knn", null, "{\"size\":5,\"query\":" + knn(q, 60, "") + "}"), 5);
        assertRanking(
                all,
                search("app-knn", null, "{\"size\":5,\"query\":{\"bool\":{\"must\":[" + knn(q, 60, "") + "]}}}"),
                5);
        assertRanking(
                all,
                search("app-knn", null, "{\"size\":5,\"query\":{\"bool\":{\"should\":[" + knn(q, 60, "") + "]}}}"),
                5);
        assertRanking(
                all,
                search("app-knn", null, "{\"size\":5,\"query\":{\"dis_max\":{\"queries\":[" + knn(q, 60, "") + "]}}}"),
                5);

        // bool must + filter: k-NN filters the knn's own top k, so fewer than k come back (LangChain's boolean_filter)
        List<Map.Entry<String, Float>> topTenEven = all.subList(0, 10).stream()
                .filter(e -> Integer.parseInt(e.getKey().substring(1)) % 2 == 0)
                .toList();
        assertRanking(
                topTenEven,
                search(
                        "app-knn",
                        null,
                        "{\"size\":10,\"query\":{\"bool\":{\"must\":[" + knn(q, 10, "")
                                + "],\"filter\":[{\"term\":{\"category\":\"even\"}}]}}}"),
                topTenEven.size());

        // with ef_search, and through a search pipeline the request names (which replaces any default pipeline)
        client().admin()
                .cluster()
                .putSearchPipeline(new org.opensearch.action.search.PutSearchPipelineRequest(
                        "apps-own",
                        new BytesArray("{\"response_processors\":[{\"encrypted_knn_rerank\":{\"model_id\":\"" + MODEL
                                + "\"}}]}"),
                        MediaTypeRegistry.JSON))
                .actionGet();
        assertRanking(
                all,
                search(
                        "app-knn",
                        "apps-own",
                        "{\"size\":5,\"query\":" + knn(q, 60, ",\"method_parameters\":{\"ef_search\":100}") + "}"),
                5);

        // knn.filter: only the even documents, ranked among themselves
        List<Map.Entry<String, Float>> even = expected(docs, q, i -> i % 2 == 0);
        assertRanking(
                even,
                search(
                        "app-knn",
                        null,
                        "{\"size\":4,\"query\":" + knn(q, 30, ",\"filter\":{\"term\":{\"category\":\"even\"}}") + "}"),
                4);

        // min_score in k-NN's convention: exactly the documents at or above the third score
        float third = all.get(2).getValue();
        org.opensearch.action.search.SearchResponse thresholded =
                search("app-knn", null, "{\"size\":10,\"min_score\":" + third + ",\"query\":" + knn(q, 60, "") + "}");
        assertRanking(all, thresholded, 3);

        // _source.excludes of the vector field (LangChain's request): no vector, the rest of the source
        org.opensearch.action.search.SearchResponse excluded = search(
                "app-knn",
                null,
                "{\"size\":3,\"_source\":{\"excludes\":[\"vector_field\"]},\"query\":" + knn(q, 60, "") + "}");
        assertRanking(all, excluded, 3);
        for (org.opensearch.search.SearchHit hit : excluded.getHits().getHits()) {
            assertNull(hit.getSourceAsMap().get("vector_field"));
            assertNotNull(hit.getSourceAsMap().get("text"));
        }

        // a caller that reads the vector back (LangChain's MMR) gets the vector it wrote (normalized: a cosine model);
        // a GET, which does not go through the key holder's search path, gets the stored record
        org.opensearch.action.search.SearchResponse withVectors =
                search("app-knn", null, "{\"size\":3,\"query\":" + knn(q, 60, "") + "}");
        for (org.opensearch.search.SearchHit hit : withVectors.getHits().getHits()) {
            float[] written = docs[Integer.parseInt(hit.getId().substring(1))];
            double norm = Math.sqrt(org.encryptedknn.transform.VectorTransform.similarity(
                    written, written, org.encryptedknn.model.Space.INNER_PRODUCT));
            List<?> read = (List<?>) hit.getSourceAsMap().get("vector_field");
            assertEquals(DIM, read.size());
            for (int j = 0; j < DIM; j++) {
                assertEquals(written[j] / norm, ((Number) read.get(j)).doubleValue(), 1e-5);
            }
        }
        assertRecord(client().prepareGet("app-knn", "d0").get().getSourceAsMap().get("vector_field"));

        // no shard saw the plaintext query vector, nor a knn query
        assertFalse(GatewaySingleNodeTests.ShardRequests.SEEN.isEmpty());
        for (org.opensearch.search.builder.SearchSourceBuilder seen : GatewaySingleNodeTests.ShardRequests.SEEN) {
            String shardView = seen.toString();
            assertFalse(shardView, shardView.contains(String.valueOf(q[0])));
            assertFalse(shardView, shardView.contains("\"knn\""));
            assertTrue(shardView, shardView.contains("encrypted_vector"));
        }
    }

    public void testKnnOptionsWithoutAnEncryptedFormAre400() throws Exception {
        indexCorpus("app-knn-options");
        float[] q = gaussian(1, 98)[0];
        for (String[] c : new String[][] {
            {",\"max_distance\":2", "does not support [max_distance]"},
            {",\"method_parameters\":{\"nprobes\":2}", "does not support [method_parameters.nprobes]"},
        }) {
            Exception e = expectThrows(
                    Exception.class, () -> search("app-knn-options", null, "{\"query\":" + knn(q, 5, c[0]) + "}"));
            assertTrue(allMessages(e), allMessages(e).contains(c[1]));
            assertEquals(RestStatus.BAD_REQUEST, org.opensearch.ExceptionsHelper.status(e));
        }
    }

    public void testKnnWithoutTheKeyIsRefusedBeforeAnyShard() throws Exception {
        indexCorpus("app-knn-nokey");
        float[] q = gaussian(1, 97)[0];
        plugin().reload(Settings.builder().setSecureSettings(secure(null)).build());
        GatewaySingleNodeTests.ShardRequests.SEEN.clear();
        try {
            Exception e = expectThrows(
                    Exception.class, () -> search("app-knn-nokey", null, "{\"query\":" + knn(q, 5, "") + "}"));
            assertTrue(allMessages(e), allMessages(e).contains(KeystoreSettings.MASTER_KEY));
            assertEquals(RestStatus.BAD_REQUEST, org.opensearch.ExceptionsHelper.status(e));
            assertTrue(GatewaySingleNodeTests.ShardRequests.SEEN.isEmpty());
        } finally {
            plugin().reload(Settings.builder().setSecureSettings(secure(KEY)).build());
        }
    }

    // ------------------------------------------------------------------ knn_vector mappings on opted-in indices

    static final String KNN_VECTOR_FIELD = "{\"type\":\"knn_vector\",\"dimension\":" + DIM
            + ",\"method\":{\"name\":\"hnsw\",\"engine\":\"faiss\",\"space_type\":\"cosinesimil\","
            + "\"parameters\":{\"m\":24,\"ef_construction\":64,\"ef_search\":100}}}";

    @SuppressWarnings("unchecked")
    Map<String, Object> fieldMapping(String index, String field) {
        Map<String, Object> mapping = client().admin()
                .indices()
                .prepareGetMappings(index)
                .get()
                .mappings()
                .get(index)
                .sourceAsMap();
        return (Map<String, Object>) ((Map<String, Object>) mapping.get("properties")).get(field);
    }

    public void testKnnVectorMappingFromATemplatedIndexBecomesEncrypted() throws Exception {
        ensureModel();
        // the operator's one step: a template that opts matching indices in
        client().admin()
                .indices()
                .preparePutTemplate("encrypt-apps")
                .setPatterns(List.of("tpl-*"))
                .setSettings(Settings.builder().put(EncryptedKnnSettings.INDEX_MODEL_ID, MODEL))
                .get();
        // the framework's own create-index request, unchanged
        client().admin()
                .indices()
                .prepareCreate("tpl-langchain")
                .setSettings(Settings.builder().put("index.number_of_shards", 1))
                .setMapping("{\"properties\":{\"text\":{\"type\":\"text\"},\"vector_field\":" + KNN_VECTOR_FIELD + "}}")
                .get();
        Map<String, Object> field = fieldMapping("tpl-langchain", "vector_field");
        assertEquals("encrypted_knn_vector", field.get("type"));
        assertEquals(MODEL, field.get("model_id"));
        assertEquals(DIM, field.get("dimension"));
        assertEquals(4, field.get("cells"));
        assertEquals(4, field.get("prefix_dimension"));
        assertEquals(Map.of("m", 24, "ef_construction", 64), field.get("method"));

        // a field added later with put-mapping is rewritten too
        client().admin()
                .indices()
                .preparePutMapping("tpl-langchain")
                .setSource("{\"properties\":{\"embedding\":" + KNN_VECTOR_FIELD + "}}", XContentType.JSON)
                .get();
        assertEquals(
                "encrypted_knn_vector",
                fieldMapping("tpl-langchain", "embedding").get("type"));

        // and the index behaves like every opted-in one: plaintext in, records stored, knn answered
        float[][] docs = gaussian(12, 31);
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < docs.length; i++) {
            bulk.add(client().prepareIndex("tpl-langchain")
                    .setId("d" + i)
                    .setSource("{\"vector_field\":" + json(docs[i]) + "}", XContentType.JSON));
        }
        assertFalse(bulk.get().hasFailures());
        assertRecord(client().prepareGet("tpl-langchain", "d0")
                .get()
                .getSourceAsMap()
                .get("vector_field"));
        float[] q = gaussian(1, 32)[0];
        assertRanking(
                expected(docs, q, i -> true),
                search("tpl-langchain", null, "{\"size\":3,\"query\":" + knn(q, 12, "") + "}"),
                3);
    }

    public void testKnnVectorParametersWithoutAnEncryptedFormAre400() throws Exception {
        ensureModel();
        for (String[] c : new String[][] {
            {
                KNN_VECTOR_FIELD.replace("cosinesimil", "innerproduct"),
                "[space_type: innerproduct] is not supported",
                "use [cosinesimil] or [l2]"
            },
            {KNN_VECTOR_FIELD.replace("\"dimension\":" + DIM, "\"dimension\":8"), "[dimension] is 8", "dimension 16"},
            {KNN_VECTOR_FIELD.replace("\"hnsw\"", "\"ivf\""), "[method.name: ivf]", "HNSW"},
            {KNN_VECTOR_FIELD.replace("{\"type\"", "{\"data_type\":\"byte\",\"type\""), "[data_type: byte]", "float"},
        }) {
            Exception e = expectThrows(
                    Exception.class,
                    () -> createAppIndex(
                            "bad-" + Math.abs(c[0].hashCode()), "{\"properties\":{\"vector_field\":" + c[0] + "}}"));
            assertTrue(allMessages(e), allMessages(e).contains("field [vector_field]"));
            assertTrue(allMessages(e), allMessages(e).contains(c[1]));
            assertTrue(allMessages(e), allMessages(e).contains(c[2]));
            assertEquals(RestStatus.BAD_REQUEST, org.opensearch.ExceptionsHelper.status(e));
        }
    }

    // ------------------------------------------------------------------ space_type l2 over a cosine model

    static float[][] unitVectors(float[][] vectors) {
        for (float[] v : vectors) {
            double norm2 = 0;
            for (float f : v) {
                norm2 += (double) f * f;
            }
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (v[i] / Math.sqrt(norm2));
            }
        }
        return vectors;
    }

    /** Ids by descending k-NN l2 score 1 / (1 + ‖q − x‖²), the distance summed in float as Lucene does. */
    static List<Map.Entry<String, Float>> expectedL2(float[][] docs, float[] q) {
        List<Map.Entry<String, Float>> out = new java.util.ArrayList<>();
        for (int i = 0; i < docs.length; i++) {
            float squareDistance = 0;
            for (int j = 0; j < q.length; j++) {
                float diff = q[j] - docs[i][j];
                squareDistance += diff * diff;
            }
            out.add(Map.entry("d" + i, 1 / (1 + squareDistance)));
        }
        out.sort(Map.Entry.<String, Float>comparingByValue().reversed());
        return out;
    }

    public void testL2FieldTakesUnitVectorsAndAnswersInKnnsL2Scores() throws Exception {
        ensureModel();
        // LangChain's default method (nmslib, l2), and a field without space_type: k-NN's default, l2
        createAppIndex(
                "app-l2",
                "{\"properties\":{\"vector_field\":{\"type\":\"knn_vector\",\"dimension\":" + DIM
                        + ",\"method\":{\"name\":\"hnsw\",\"engine\":\"nmslib\",\"space_type\":\"l2\","
                        + "\"parameters\":{\"ef_construction\":512,\"m\":16}}},"
                        + "\"other\":{\"type\":\"knn_vector\",\"dimension\":" + DIM + "}}}");
        assertEquals("l2", fieldMapping("app-l2", "vector_field").get("space_type"));
        assertEquals("l2", fieldMapping("app-l2", "other").get("space_type"));
        assertEquals("encrypted_knn_vector", fieldMapping("app-l2", "other").get("type"));

        float[][] docs = unitVectors(gaussian(40, 41));
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < docs.length; i++) {
            bulk.add(client().prepareIndex("app-l2")
                    .setId("d" + i)
                    .setSource("{\"vector_field\":" + json(docs[i]) + "}", XContentType.JSON));
        }
        BulkResponse written = bulk.get();
        assertFalse(written.buildFailureMessage(), written.hasFailures());

        // a vector that is not a unit vector: a 400 naming the field and its norm, not a silent normalization
        float[] twice = docs[0].clone();
        for (int i = 0; i < twice.length; i++) {
            twice[i] *= 2;
        }
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("app-l2")
                        .setId("long")
                        .setSource("{\"other\":" + json(twice) + "}", XContentType.JSON)
                        .get());
        assertTrue(allMessages(e), allMessages(e).contains("field [other]"));
        assertTrue(allMessages(e), allMessages(e).contains("has norm 2.0"));
        assertEquals(RestStatus.BAD_REQUEST, org.opensearch.ExceptionsHelper.status(e));
        assertFalse(client().prepareGet("app-l2", "long").get().isExists());

        // queries of any length: k-NN's l2 scores and order, and min_score on that scale
        for (float length : new float[] {1f, 0.3f, 2.5f}) {
            float[] q = unitVectors(gaussian(1, 42 + (int) (length * 10)))[0];
            for (int i = 0; i < q.length; i++) {
                q[i] *= length;
            }
            List<Map.Entry<String, Float>> all = expectedL2(docs, q);
            assertRanking(all, search("app-l2", null, "{\"size\":5,\"query\":" + knn(q, 40, "") + "}"), 5);
            // between the 4th and the 5th score: the scores agree to 1e-4, not to the last float bit
            float threshold = (all.get(3).getValue() + all.get(4).getValue()) / 2;
            assertRanking(
                    all,
                    search(
                            "app-l2",
                            null,
                            "{\"size\":10,\"min_score\":" + threshold + ",\"query\":" + knn(q, 40, "") + "}"),
                    4);
        }
    }

    public void testL2WhereItCannotBeExactIsA400() throws Exception {
        // an inner-product model: documents are not unit vectors, and the rerank does not compute their norms
        GatewaySingleNodeTests.Reply r = GatewaySingleNodeTests.rest(
                plugin(),
                getInstanceFromNode(NodeClient.class),
                RestRequest.Method.PUT,
                RestModelsAction.BASE + "/dropin-ip",
                Map.of("model_id", "dropin-ip"),
                modelBody(4, gaussian(200, 11)).replace("\"cosine\"", "\"inner_product\""));
        assertTrue(r.raw(), r.status() == RestStatus.CREATED || r.status() == RestStatus.CONFLICT);
        Exception e = expectThrows(
                Exception.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("app-ip-l2")
                        .setSettings(Settings.builder().put(EncryptedKnnSettings.INDEX_MODEL_ID, "dropin-ip"))
                        .setMapping("{\"properties\":{\"vector_field\":{\"type\":\"knn_vector\",\"dimension\":" + DIM
                                + "}}}")
                        .get());
        assertTrue(allMessages(e), allMessages(e).contains("field [vector_field]"));
        assertTrue(allMessages(e), allMessages(e).contains("[space_type: l2 (k-NN's default)] is not supported"));
        assertTrue(allMessages(e), allMessages(e).contains("set [innerproduct]"));
        assertEquals(RestStatus.BAD_REQUEST, org.opensearch.ExceptionsHelper.status(e));

        // space_type on an encrypted field of an index that has not opted in: nothing would read it
        e = expectThrows(
                Exception.class,
                () -> client().admin()
                        .indices()
                        .prepareCreate("not-opted-in-l2")
                        .setSettings(Settings.builder().put(EncryptedKnnSettings.INDEX_ENCRYPTED_KNN, true))
                        .setMapping("{\"properties\":{\"embedding\":{\"type\":\"encrypted_knn_vector\","
                                + "\"model_id\":\"" + MODEL + "\",\"dimension\":" + DIM
                                + ",\"cells\":4,\"space_type\":\"l2\"}}}")
                        .get());
        assertTrue(allMessages(e), allMessages(e).contains("[space_type]"));
        assertTrue(allMessages(e), allMessages(e).contains(EncryptedKnnSettings.INDEX_MODEL_ID));
        assertEquals(RestStatus.BAD_REQUEST, org.opensearch.ExceptionsHelper.status(e));
    }
}
