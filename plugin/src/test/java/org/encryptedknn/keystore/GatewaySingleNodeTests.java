package org.encryptedknn.keystore;

import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.encryptedknn.fetch.HitRecordsExt;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.model.WindowCalibration;
import org.encryptedknn.plugin.EncryptedKnnPlugin;
import org.encryptedknn.rest.RestModelsAction;
import org.encryptedknn.transform.VectorTransform;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.get.GetResponse;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.MockSecureSettings;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.index.IndexModule;
import org.opensearch.index.shard.SearchOperationListener;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginsService;
import org.opensearch.rest.RestHandler;
import org.opensearch.rest.RestRequest;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.internal.SearchContext;
import org.opensearch.test.OpenSearchSingleNodeTestCase;
import org.opensearch.test.rest.FakeRestChannel;
import org.opensearch.test.rest.FakeRestRequest;
import org.opensearch.threadpool.TestThreadPool;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.node.NodeClient;

/**
 * Gateway mode on a real in-JVM node: the keystore setting (MockSecureSettings), the model registry endpoints, the
 * ingest processors and the search pipeline, reloads. Must run as an unprivileged user.
 */
public class GatewaySingleNodeTests extends OpenSearchSingleNodeTestCase {

    static final int DIM = 16;
    static final String KEY = Base64.getEncoder().encodeToString(bytes(32, 7));
    static final String OTHER_KEY = Base64.getEncoder().encodeToString(bytes(32, 9));

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EncryptedKnnPlugin.class, ShardRequests.class);
    }

    /** Records the search source of every query phase as the shard receives it: the data node's own view. */
    public static final class ShardRequests extends Plugin {
        static final List<SearchSourceBuilder> SEEN = new CopyOnWriteArrayList<>();

        @Override
        public void onIndexModule(IndexModule module) {
            module.addSearchOperationListener(new SearchOperationListener() {
                @Override
                public void onPreQueryPhase(SearchContext context) {
                    SEEN.add(context.request().source());
                }
            });
        }
    }

    @Override
    protected Settings nodeSettings() {
        return withKey(super.nodeSettings());
    }

    /** The node settings with {@link #KEY} as the keystore's master key (the drop-in tests' node too). */
    static Settings withKey(Settings nodeSettings) {
        return Settings.builder()
                .put(nodeSettings)
                .setSecureSettings(secure(KEY))
                .build();
    }

    @Override
    protected boolean resetNodeAfterTest() {
        return false;
    }

    /**
     * The rescore of a shard request carries the stage-1 prefix p_q itself: a request with p_q and p_q / s² gave the
     * SAP scale s away exactly (⟨p_q, p_q⟩ / ⟨p_q, prefix⟩ = s²), as it did before issue 15.
     */
    @SuppressWarnings("unchecked")
    static void assertRescorePrefixIsTheQuery(SearchSourceBuilder shard) {
        Map<String, Object> source = XContentHelper.convertToMap(
                        new BytesArray(shard.toString()), false, XContentType.JSON)
                .v2();
        Map<String, Object> knn =
                (Map<String, Object>) ((Map<String, Object>) source.get("query")).get("encrypted_knn");
        Object vector = ((Map<String, Object>) knn.get("embedding")).get("encrypted_vector");
        List<Map<String, Object>> rescores = (List<Map<String, Object>>) source.get("rescore");
        Map<String, Object> query =
                (Map<String, Object>) ((Map<String, Object>) rescores.get(0).get("encrypted_knn")).get("query");
        assertEquals(shard.toString(), vector, query.get("prefix"));
    }

    static MockSecureSettings secure(String key) {
        MockSecureSettings s = new MockSecureSettings();
        if (key != null) {
            s.setString(KeystoreSettings.MASTER_KEY, key);
        }
        return s;
    }

    static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    EncryptedKnnPlugin plugin() {
        return getInstanceFromNode(PluginsService.class)
                .filterPlugins(EncryptedKnnPlugin.class)
                .get(0);
    }

    void reload(String key) throws Exception {
        plugin().reload(Settings.builder().setSecureSettings(secure(key)).build());
    }

    // ------------------------------------------------------------------ REST plumbing (the handler, without HTTP)

    record Reply(RestStatus status, Map<String, Object> body, String raw) {}

    Reply rest(RestRequest.Method method, String path, Map<String, String> params, String body) throws Exception {
        return rest(plugin(), getInstanceFromNode(NodeClient.class), method, path, params, body);
    }

    /** A request to the plugin's model endpoints on {@code client}'s node (also used by the drop-in tests). */
    static Reply rest(
            EncryptedKnnPlugin plugin,
            NodeClient client,
            RestRequest.Method method,
            String path,
            Map<String, String> params,
            String body)
            throws Exception {
        RestHandler handler = plugin.getRestHandlers(Settings.EMPTY, null, null, null, null, null, () -> null).stream()
                .filter(h -> h instanceof RestModelsAction)
                .findFirst()
                .orElseThrow();
        FakeRestRequest.Builder b = new FakeRestRequest.Builder(NamedXContentRegistry.EMPTY)
                .withMethod(method)
                .withPath(path)
                .withParams(new HashMap<>(params));
        if (body != null) {
            b.withContent(new BytesArray(body), MediaTypeRegistry.JSON);
        }
        FakeRestRequest request = b.build();
        FakeRestChannel channel = new FakeRestChannel(request, true, 1);
        try {
            handler.handleRequest(request, channel, client);
        } catch (Exception e) {
            channel.sendResponse(new org.opensearch.rest.BytesRestResponse(channel, e)); // what RestController does
        }
        assertBusy(() -> assertTrue(channel.responses().get() + channel.errors().get() > 0));
        String raw = channel.capturedResponse().content().utf8ToString();
        Map<String, Object> map = XContentHelper.convertToMap(new BytesArray(raw), true, XContentType.JSON)
                .v2();
        return new Reply(channel.capturedResponse().status(), map, raw);
    }

    Reply putModel(String id, String body) throws Exception {
        return rest(RestRequest.Method.PUT, RestModelsAction.BASE + "/" + id, Map.of("model_id", id), body);
    }

    Reply getModel(String id) throws Exception {
        return rest(RestRequest.Method.GET, RestModelsAction.BASE + "/" + id, Map.of("model_id", id), null);
    }

    static float[][] gaussian(int n, int seed) {
        Random r = new Random(seed);
        float[][] out = new float[n][DIM];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < DIM; j++) {
                out[i][j] = (float) (r.nextGaussian() * Math.pow(0.8, j) + (j == 0 ? 0.5 : 0));
            }
        }
        return out;
    }

    static String json(float[][] vs) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < vs.length; i++) {
            sb.append(i == 0 ? "" : ",").append(json(vs[i]));
        }
        return sb.append("]").toString();
    }

    static String json(float[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int j = 0; j < v.length; j++) {
            sb.append(j == 0 ? "" : ",").append(v[j]);
        }
        return sb.append("]").toString();
    }

    static String modelBody(int cells, float[][] training) {
        return "{\"dimension\":" + DIM + ",\"space\":\"cosine\",\"prefix_dimension\":4,\"cells\":" + cells
                + ",\"beta\":0.5,\"training_vectors\":" + json(training) + "}";
    }

    static String allMessages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ tests

    public void testModelRegistry() throws Exception {
        String body = modelBody(4, gaussian(120, 1));
        Reply created = putModel("reg1", body);
        assertEquals(created.raw(), RestStatus.CREATED, created.status());
        assertEquals("created", created.body().get("result"));
        assertNoSecret(created.raw());

        Reply got = getModel("reg1");
        assertEquals(got.raw(), RestStatus.OK, got.status());
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) got.body().get("model");
        assertEquals(DIM, model.get("dimension"));
        assertEquals("cosine", model.get("space"));
        assertEquals(4, model.get("prefix_dimension"));
        assertEquals(4, model.get("cells"));
        assertEquals(1, model.get("epoch"));
        assertNoSecret(got.raw());

        // the stored document is sealed: the secret part exists but is not the basis in clear
        GetResponse stored = client().prepareGet(ModelStore.INDEX, "reg1").get();
        assertTrue(stored.isExists());
        assertTrue(stored.getSourceAsString().contains("AES-256-GCM"));

        Reply again = putModel("reg1", body);
        assertEquals(again.raw(), RestStatus.CONFLICT, again.status());

        Reply listed = rest(RestRequest.Method.GET, RestModelsAction.BASE, Map.of(), null);
        assertEquals(RestStatus.OK, listed.status());
        assertTrue(listed.raw(), listed.raw().contains("\"reg1\""));
        assertNoSecret(listed.raw());

        // one live epoch: nothing to retire, and the answer says so (not "must be in [2, 1]")
        expect400(
                rest(
                        RestRequest.Method.POST,
                        RestModelsAction.BASE + "/reg1/_retire",
                        Map.of("model_id", "reg1"),
                        null),
                "has one live epoch (1): nothing to retire");

        Reply rotated = rest(
                RestRequest.Method.POST, RestModelsAction.BASE + "/reg1/_rotate", Map.of("model_id", "reg1"), null);
        assertEquals(rotated.raw(), RestStatus.OK, rotated.status());
        assertEquals(1, rotated.body().get("previous_epoch"));
        assertEquals(2, ((Map<?, ?>) getModel("reg1").body().get("model")).get("epoch"));
        assertNoSecret(rotated.raw());

        Reply deleted =
                rest(RestRequest.Method.DELETE, RestModelsAction.BASE + "/reg1", Map.of("model_id", "reg1"), null);
        assertEquals(deleted.raw(), RestStatus.OK, deleted.status());
        assertEquals(RestStatus.NOT_FOUND, getModel("reg1").status());
        assertEquals(
                RestStatus.NOT_FOUND,
                rest(RestRequest.Method.DELETE, RestModelsAction.BASE + "/reg1", Map.of("model_id", "reg1"), null)
                        .status());
    }

    static void assertNoSecret(String raw) {
        assertFalse(raw, raw.contains("secret"));
        assertFalse(raw, raw.contains("\"data\""));
        assertFalse(raw, raw.contains(KEY));
    }

    public void testModelValidation() throws Exception {
        float[][] good = gaussian(40, 2);
        float[][] shortRow = good.clone();
        shortRow[3] = new float[DIM - 1];
        expect400(putModel("bad1", modelBody(4, shortRow)), "training_vectors[3] has 15 values but [dimension] is 16");
        expect400(putModel("bad2", modelBody(4, gaussian(3, 2))), "training_vectors");
        expect400(
                putModel("bad3", modelBody(4, good).replace("\"cosine\"", "\"euclid\"")),
                "space must be one of [cosine, inner_product]");
        expect400(putModel("bad4", modelBody(4, good).replaceFirst("\\[\\[", "[[1e40,")), "not a finite float32");
        expect400(
                putModel("bad5", "{\"dimension\":16,\"training_vectors\":[[1]],\"colour\":1}"),
                "unknown field [colour]");
        expect400(putModel("bad6", "{\"space\":\"cosine\",\"training_vectors\":[]}"), "[dimension] is required");
        expect400(
                putModel("bad7", modelBody(4, good).replace("\"prefix_dimension\":4", "\"prefix_dimension\":16")),
                "prefix_dimension");
        expect400(putModel("Bad id!", modelBody(4, good)), "model id must be");
        // protections switched off only on request
        expect400(putModel("bad8", modelBody(4, good).replace("\"beta\":0.5", "\"beta\":0")), "[beta] = 0");
        expect400(putModel("bad9", modelBody(1, good)), "[cells] = 1");
        expect400(putModel("bad10", modelBody(4, good).replace("{", "{\"insecure\":\"yes\",")), "[insecure]");
        Reply insecure = putModel("insecure", modelBody(1, good).replace("{", "{\"insecure\":true,"));
        assertEquals(insecure.raw(), RestStatus.CREATED, insecure.status());
    }

    /**
     * A body ciphertext moved to another document does not decrypt; a document indexed without an id gets one before
     * encryption; a rolled-back model document is refused by the key holder's epoch floor.
     */
    public void testCiphertextBindingAndModelRollback() throws Exception {
        setUpGateway("bind", "bind-idx", 4, 5);
        float[][] docs = gaussian(2, 6);
        String autoId = client().prepareIndex("bind-idx")
                .setSource(doc(docs[0], 0), XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get()
                .getId();
        client().prepareIndex("bind-idx")
                .setId("b1")
                .setSource(doc(docs[1], 1), XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        Map<String, Object> auto = client().prepareGet("bind-idx", autoId).get().getSourceAsMap();
        assertTrue(((String) auto.get("body")).startsWith(FieldCipher.RANDOMIZED_PREFIX));
        SearchResponse both = knn("bind-idx", "bind-search", docs[0], 10, 10, null);
        assertEquals(2, both.getHits().getHits().length);
        for (SearchHit h : both.getHits().getHits()) {
            assertTrue(
                    (String) h.getSourceAsMap().get("body"),
                    ((String) h.getSourceAsMap().get("body")).startsWith("message number "));
        }

        // b1's body ciphertext copied into another document of the same index
        Map<String, Object> moved = new HashMap<>(auto);
        moved.put(
                "body",
                client().prepareGet("bind-idx", "b1").get().getSourceAsMap().get("body"));
        // through the ingest pipeline it is refused at write time (it does not open for this document)
        Exception refused = expectThrows(
                Exception.class,
                () -> client().prepareIndex("bind-idx")
                        .setId("moved")
                        .setSource(moved)
                        .get());
        assertTrue(
                allMessages(refused), allMessages(refused).contains("field [body] holds a value that looks encrypted"));
        // written around the pipeline, the read detects it
        client().prepareIndex("bind-idx")
                .setId("moved")
                .setSource(moved)
                .setPipeline("_none")
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        Exception e = expectThrows(Exception.class, () -> knn("bind-idx", "bind-search", docs[0], 10, 10, null));
        assertTrue(allMessages(e), allMessages(e).contains("field [body] of hit [moved]"));
        client().prepareDelete("bind-idx", "moved")
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();

        // rollback: keep the epoch-1 registry document, rotate to epoch 2, write the old document back
        ModelStore store = new ModelStore(() -> client());
        ModelStore.StoredModel epoch1 = getStored(store, "bind");
        Reply rotated = rest(
                RestRequest.Method.POST, RestModelsAction.BASE + "/bind/_rotate", Map.of("model_id", "bind"), null);
        assertEquals(rotated.raw(), RestStatus.OK, rotated.status());
        org.opensearch.action.support.PlainActionFuture<org.opensearch.action.index.IndexResponse> restored =
                new org.opensearch.action.support.PlainActionFuture<>();
        store.replace(getStored(store, "bind"), epoch1.sealedJson(), 1, restored);
        restored.actionGet();
        e = expectThrows(Exception.class, () -> knn("bind-idx", "bind-search", docs[0], 10, 10, null));
        assertTrue(allMessages(e), allMessages(e).contains("a rolled-back model document is refused"));
        // the floor is kept in the node's data directory, outside every index
        java.nio.file.Path file = getInstanceFromNode(org.opensearch.env.NodeEnvironment.class)
                .nodeDataPaths()[0]
                .resolve(EpochFloors.FILE_NAME);
        assertTrue(java.nio.file.Files.readString(file).contains("bind "));
        e = expectThrows(Exception.class, () -> new EpochFloors(file).check(openStored(epoch1)));
        assertTrue(allMessages(e), allMessages(e).contains("older than this node has seen (epoch 2, first epoch 1)"));
    }

    static ModelStore.StoredModel getStored(ModelStore store, String id) {
        org.opensearch.action.support.PlainActionFuture<ModelStore.StoredModel> f =
                new org.opensearch.action.support.PlainActionFuture<>();
        store.get(id, f);
        return f.actionGet();
    }

    static org.encryptedknn.model.EncryptionModel openStored(ModelStore.StoredModel stored) {
        try (org.encryptedknn.keys.KeyDerivation keys =
                new org.encryptedknn.keys.KeyDerivation(org.encryptedknn.keys.MasterKey.fromBase64(KEY))) {
            return org.encryptedknn.model.ModelCodec.fromJson(stored.sealedJson(), keys);
        }
    }

    static void expect400(Reply reply, String fragment) {
        assertEquals(reply.raw(), RestStatus.BAD_REQUEST, reply.status());
        assertTrue(
                "[" + reply.raw() + "] should contain [" + fragment + "]",
                reply.raw().contains(fragment));
    }

    Reply createModel(String id, int cells, float[][] training) throws Exception {
        Reply r = putModel(id, modelBody(cells, training));
        assertEquals(r.raw(), RestStatus.CREATED, r.status());
        return r;
    }

    void createIndex(String index, String modelId, int cells, String pipeline) {
        String mapping = "{\"properties\":{\"sender\":{\"type\":\"keyword\"},\"body\":{\"type\":\"text\"},"
                + "\"embedding\":{\"type\":\"encrypted_knn_vector\",\"model_id\":\"" + modelId + "\",\"dimension\":"
                + DIM
                + ",\"prefix_dimension\":4,\"prefix_layout\":\"augmented\",\"cells\":" + cells + "}}}";
        client().admin()
                .indices()
                .prepareCreate(index)
                .setSettings(Settings.builder()
                        .put("index.encrypted_knn", true)
                        .put("index.number_of_shards", 1)
                        .put("index.number_of_replicas", 0)
                        .put("index.default_pipeline", pipeline))
                .setMapping(mapping)
                .get();
    }

    void putIngestPipeline(String id, String modelId) {
        putIngestPipeline(id, modelId, null);
    }

    /** {@code recordForm} null: the processor's default. */
    void putIngestPipeline(String id, String modelId, String recordForm) {
        String p = "{\"processors\":[{\"encrypted_knn\":{\"model_id\":\"" + modelId + "\",\"field\":\"embedding\","
                + (recordForm == null ? "" : "\"record_form\":\"" + recordForm + "\",")
                + "\"encrypt_fields\":[\"body\"],\"deterministic_fields\":[\"sender\"]}}]}";
        client().admin()
                .cluster()
                .preparePutPipeline(id, new BytesArray(p), MediaTypeRegistry.JSON)
                .get();
    }

    /** A pipeline in the default mode ({@code key_holder}: no mode given). */
    void putSearchPipeline(String id, String modelId, int probe) {
        putSearchPipeline(id, modelId, probe, null);
    }

    void putSearchPipeline(String id, String modelId, int probe, String mode) {
        String p = "{\"request_processors\":[{\"encrypted_knn_query\":{\"model_id\":\"" + modelId
                + "\",\"probe_cells\":" + probe
                + (mode == null ? "" : ",\"mode\":\"" + mode + "\"") + ",\"deterministic_fields\":[\"sender\"]}}],"
                + "\"response_processors\":[{\"encrypted_knn_rerank\":{\"model_id\":\"" + modelId
                + "\",\"decrypt_fields\":[\"body\",\"sender\"]}}]}";
        client().admin()
                .cluster()
                .putSearchPipeline(new org.opensearch.action.search.PutSearchPipelineRequest(
                        id, new BytesArray(p), MediaTypeRegistry.JSON))
                .actionGet();
    }

    static String doc(float[] v, int i) {
        return "{\"embedding\":" + json(v) + ",\"body\":\"message number " + i + "\",\"sender\":\""
                + (i % 3 == 0 ? "alice" : "bob") + "\"}";
    }

    SearchResponse knn(String index, String pipeline, float[] q, int k, int size, String filter) throws Exception {
        String query = "{\"size\":" + size + ",\"query\":{\"encrypted_knn\":{\"embedding\":{\"vector\":" + json(q)
                + ",\"k\":" + k + (filter == null ? "" : ",\"filter\":" + filter) + "}}}}";
        SearchSourceBuilder source;
        try (var parser = createParser(XContentType.JSON.xContent(), query)) {
            source = SearchSourceBuilder.fromXContent(parser);
        }
        return search(index, source, pipeline);
    }

    /** Model {@code model} (4 cells), pipelines {@code <model>-ingest} and {@code <model>-search}, and the index. */
    void setUpGateway(String model, String index, int probe, int seed) throws Exception {
        setUpGateway(model, index, probe, seed, null);
    }

    /** As above, the ingest pipeline writing records of {@code recordForm} (null: the default, sealed). */
    void setUpGateway(String model, String index, int probe, int seed, String recordForm) throws Exception {
        createModel(model, 4, gaussian(200, seed));
        putIngestPipeline(model + "-ingest", model, recordForm);
        putSearchPipeline(model + "-search", model, probe);
        createIndex(index, model, 4, model + "-ingest");
    }

    /**
     * A plain-vector query without {@code k} gets the model's calibrated window for the index's size (GET model shows
     * the calibration); a model fitted on too few vectors to calibrate gets the fallback window.
     */
    public void testDefaultWindowComesFromTheModelCalibration() throws Exception {
        Reply created = createModel("win", 4, gaussian(600, 5));
        assertEquals(created.raw(), RestStatus.CREATED, created.status());
        Map<?, ?> model = (Map<?, ?>) getModel("win").body().get("model");
        Map<?, ?> calibration = (Map<?, ?>) model.get("calibration");
        assertNotNull(model.toString(), calibration);
        assertEquals(0.95, ((Number) calibration.get("target_recall")).doubleValue(), 0);
        assertFalse(calibration.toString(), ((List<?>) calibration.get("curve")).isEmpty());
        WindowCalibration expected = new WindowCalibration(
                0.95,
                (Integer) calibration.get("k"),
                (Integer) calibration.get("reference_size"),
                (Integer) calibration.get("queries"),
                ((Number) calibration.get("growth")).doubleValue(),
                List.of());
        putIngestPipeline("win-ingest", "win");
        putSearchPipeline("win-search", "win", 2);
        createIndex("sized", "win", 4, "win-ingest");
        float[][] docs = gaussian(1200, 6);
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < docs.length; i++) {
            bulk.add(client().prepareIndex("sized").setId("d" + i).setSource(doc(docs[i], i), XContentType.JSON));
        }
        assertFalse(bulk.get().hasFailures());
        int window = expected.windowFor(docs.length);
        assertTrue(expected + " grows beyond its reference size", window > expected.window());
        assertEquals(window, shardWindow("sized", "win-search"));

        setUpGateway("small", "few", 2, 7); // 200 training vectors: half of them leave too few to calibrate on
        assertNull(((Map<?, ?>) getModel("small").body().get("model")).get("calibration"));
        client().prepareIndex("few")
                .setId("x")
                .setSource(doc(docs[0], 0), XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        assertEquals(WindowCalibration.FALLBACK_WINDOW, shardWindow("few", "small-search"));
    }

    /** The window the data node is asked for by a query that leaves k to the model. */
    private int shardWindow(String index, String pipeline) throws Exception {
        String query = "{\"size\":5,\"query\":{\"encrypted_knn\":{\"embedding\":{\"vector\":" + json(gaussian(1, 99)[0])
                + "}}}}";
        SearchSourceBuilder source;
        try (var parser = createParser(XContentType.JSON.xContent(), query)) {
            source = SearchSourceBuilder.fromXContent(parser);
        }
        ShardRequests.SEEN.clear();
        SearchResponse response = search(index, source, pipeline);
        assertTrue(response.getHits().getHits().length > 0);
        assertFalse(ShardRequests.SEEN.isEmpty());
        return ShardRequests.SEEN.get(0).size();
    }

    /** Keyed records, which every search mode can score on the data node (the sealed default: below). */
    public void testEndToEnd() throws Exception {
        setUpGateway("e2e", "mail", 2, 3, "keyed");

        float[][] docs = gaussian(60, 4);
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < docs.length; i++) {
            var req = client().prepareIndex("mail").setSource(doc(docs[i], i), XContentType.JSON);
            if (i < 50) {
                req.setId("d" + i); // the last ten get their ids from the ingest processor
            }
            bulk.add(req);
        }
        BulkResponse indexed = bulk.get();
        assertFalse(indexed.buildFailureMessage(), indexed.hasFailures());

        // what the storage tier holds: no plaintext vector, no plaintext body, sender under AES-SIV
        GetResponse raw = client().prepareGet("mail", "d7").get();
        Map<String, Object> rawSource = raw.getSourceAsMap();
        assertTrue(rawSource.get("embedding") instanceof Map);
        assertTrue(((String) rawSource.get("body")).startsWith(FieldCipher.RANDOMIZED_PREFIX));
        assertTrue(((String) rawSource.get("sender")).startsWith(FieldCipher.DETERMINISTIC_PREFIX));
        assertFalse(raw.getSourceAsString().contains("message number"));

        float[] q = gaussian(1, 99)[0];
        ShardRequests.SEEN.clear();
        SearchResponse response = knn("mail", "e2e-search", q, 60, 5, null);
        // the default mode (key_holder), from the data node's view: the encrypted prefix query and nothing else
        assertFalse(ShardRequests.SEEN.isEmpty());
        for (SearchSourceBuilder shard : ShardRequests.SEEN) {
            assertTrue(
                    shard.toString(),
                    shard.rescores() == null || shard.rescores().isEmpty());
            assertFalse(shard.toString(), shard.toString().contains("cells"));
            assertFalse(shard.toString(), shard.toString().contains("\"vector\""));
            assertTrue(shard.toString(), shard.toString().contains("encrypted_vector"));
            assertEquals("the whole window comes back", 60, shard.size());
            // each hit's record in the binary per-hit field; no _source for the window (the page's is read after)
            assertTrue(shard.toString(), shard.ext().stream().anyMatch(e -> e instanceof HitRecordsExt));
            assertFalse(shard.toString(), shard.fetchSource().fetchSource());
        }
        assertEquals(5, response.getHits().getHits().length);
        List<Integer> truth = new ArrayList<>();
        for (int i = 0; i < docs.length; i++) {
            truth.add(i);
        }
        truth.sort(Comparator.comparingDouble((Integer i) -> -VectorTransform.similarity(q, docs[i], Space.COSINE)));
        SearchHit[] hits = response.getHits().getHits();
        for (int r = 0; r < hits.length; r++) {
            Map<String, Object> src = hits[r].getSourceAsMap();
            String body = (String) src.get("body");
            assertTrue(body, body.startsWith("message number "));
            int i = Integer.parseInt(body.substring("message number ".length()));
            double exact = VectorTransform.similarity(q, docs[i], Space.COSINE);
            assertEquals("hit " + r, exact, hits[r].getScore(), 1e-3);
            double expected = VectorTransform.similarity(q, docs[truth.get(r)], Space.COSINE);
            assertEquals("rank " + r + " has the true rank-" + r + " similarity", expected, hits[r].getScore(), 1e-3);
            assertEquals(i % 3 == 0 ? "alice" : "bob", src.get("sender"));
            assertTrue(src.get("embedding") instanceof Map);
        }
        assertEquals(hits[0].getScore(), response.getHits().getMaxScore(), 0f);

        // the opt-in keyed mode: the data node gets the probed cells' residual queries (what the mode's name says), and
        // the ranking is the same
        putSearchPipeline("e2e-keyed", "e2e", 2, "keyed_leaks_query_residuals");
        ShardRequests.SEEN.clear();
        SearchResponse keyed = knn("mail", "e2e-keyed", q, 60, 5, null);
        assertTrue(
                ShardRequests.SEEN.get(0).toString(),
                ShardRequests.SEEN.get(0).toString().contains("\"cells\""));
        assertRescorePrefixIsTheQuery(ShardRequests.SEEN.get(0));
        for (int r = 0; r < 5; r++) {
            assertEquals(
                    "keyed rank " + r,
                    hits[r].getScore(),
                    keyed.getHits().getHits()[r].getScore(),
                    1e-4f);
        }

        // ckks mode: the data node scores CKKS ciphertexts (this node's key), the rerank decrypts; same exact ranking.
        // 2 of 4 cells probed: hits of the other cells are scored from the z their per-hit field carries.
        putSearchPipeline("e2e-ckks", "e2e", 2, "ckks");
        long ckksRequests = org.encryptedknn.stats.PluginStats.CKKS_RESCORE_REQUESTS.sum();
        ShardRequests.SEEN.clear();
        SearchResponse ckks = knn("mail", "e2e-ckks", q, 60, 5, null);
        assertRescorePrefixIsTheQuery(ShardRequests.SEEN.get(0));
        assertEquals(1, org.encryptedknn.stats.PluginStats.CKKS_RESCORE_REQUESTS.sum() - ckksRequests);
        for (int r = 0; r < 5; r++) {
            SearchHit h = ckks.getHits().getHits()[r];
            assertEquals("ckks rank " + r, hits[r].getScore(), h.getScore(), 1e-4f);
            assertNull(
                    "the per-hit ciphertext field is not passed on", h.field(org.encryptedknn.protocol.HitField.NAME));
            assertEquals(
                    hits[r].getSourceAsMap().get("body"), h.getSourceAsMap().get("body"));
        }

        // from/size paging keeps the exact order
        SearchResponse page2 = search(
                "mail",
                sourceOf(
                        "{\"from\":2,\"size\":3,\"_source\":[\"body\"],\"query\":{\"encrypted_knn\":{\"embedding\":{\"vector\":"
                                + json(q) + ",\"k\":60}}}}"),
                "e2e-search");
        assertEquals(3, page2.getHits().getHits().length);
        assertEquals(hits[2].getScore(), page2.getHits().getHits()[0].getScore(), 1e-6f);
        assertNull(
                "the vector was not asked for in _source",
                page2.getHits().getHits()[0].getSourceAsMap().get("embedding"));

        // term filter on a deterministic field, inside the knn filter, is rewritten to AES-SIV
        SearchResponse alice = knn("mail", "e2e-search", q, 60, 100, "{\"term\":{\"sender\":\"alice\"}}");
        assertEquals(20, alice.getHits().getHits().length);
        for (SearchHit h : alice.getHits().getHits()) {
            assertEquals("alice", h.getSourceAsMap().get("sender"));
        }

        // a plain vector without the pipeline never reaches a shard
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareSearch("mail")
                        .setSource(sourceOf(
                                "{\"query\":{\"encrypted_knn\":{\"embedding\":{\"vector\":" + json(q) + ",\"k\":5}}}}"))
                        .get());
        assertTrue(allMessages(e), allMessages(e).contains("plain vectors must be encrypted"));

        // rotation: old documents stay findable and exactly scored. k = 20 < 60 documents, so stage 1 must search the
        // epoch-1 prefixes under epoch-1 keys (with the new epoch's prefix rotation the HNSW neighbours are arbitrary)
        SearchResponse beforeRotate = knn("mail", "e2e-search", q, 20, 5, null);
        Reply rotated =
                rest(RestRequest.Method.POST, RestModelsAction.BASE + "/e2e/_rotate", Map.of("model_id", "e2e"), null);
        assertEquals(rotated.raw(), RestStatus.OK, rotated.status());
        SearchResponse afterRotate = knn("mail", "e2e-search", q, 20, 5, null);
        for (int r = 0; r < 5; r++) {
            assertEquals(
                    beforeRotate.getHits().getHits()[r].getId(),
                    afterRotate.getHits().getHits()[r].getId());
            assertEquals(
                    beforeRotate.getHits().getHits()[r].getScore(),
                    afterRotate.getHits().getHits()[r].getScore(),
                    1e-4f);
        }
        // mixed epochs: a new document (epoch 2) equal to the query ranks first, the old ones follow
        client().prepareIndex("mail")
                .setId("new")
                .setSource(doc(q, 1000), XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        assertEquals(
                2,
                ((Map<?, ?>) client().prepareGet("mail", "new")
                                .get()
                                .getSourceAsMap()
                                .get("embedding"))
                        .get("e"));
        SearchResponse mixed = knn("mail", "e2e-search", q, 20, 5, null);
        assertEquals("new", mixed.getHits().getHits()[0].getId());
        assertEquals(1.0, mixed.getHits().getHits()[0].getScore(), 1e-4);
        for (int r = 1; r < 5; r++) {
            assertEquals(
                    beforeRotate.getHits().getHits()[r - 1].getId(),
                    mixed.getHits().getHits()[r].getId());
        }
        rekeyByHand("e2e", "mail", 50);
        assertEquals(
                2,
                ((Map<?, ?>) client().prepareGet("mail", "d3")
                                .get()
                                .getSourceAsMap()
                                .get("embedding"))
                        .get("e"));
        SearchResponse afterRekey = knn("mail", "e2e-search", q, 60, 5, null);
        for (int r = 0; r < 5; r++) {
            assertEquals(
                    mixed.getHits().getHits()[r].getScore(),
                    afterRekey.getHits().getHits()[r].getScore(),
                    1e-4f);
        }
    }

    /**
     * Sealed records ({@code record_form: sealed}): the storage tier holds p, n, s, e and no cell or z; the key holder
     * scores every hit from s, exactly, in the default mode and in ckks mode alike (nothing is probed); keyed records
     * in the same index rank beside them; a rotation and re-key seals them again; an altered s is refused, not scored.
     */
    @SuppressWarnings("unchecked")
    public void testSealedRecordsEndToEnd() throws Exception {
        createModel("sealed", 4, gaussian(200, 13));
        putIngestPipeline("sealed-ingest", "sealed"); // the default form
        putIngestPipeline("sealed-keyed-ingest", "sealed", "keyed");
        putSearchPipeline("sealed-search", "sealed", 2);
        putSearchPipeline("sealed-ckks", "sealed", 2, "ckks");
        createIndex("vault", "sealed", 4, "sealed-ingest");
        float[][] docs = gaussian(60, 14);
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < docs.length; i++) {
            var req = client().prepareIndex("vault").setId("d" + i).setSource(doc(docs[i], i), XContentType.JSON);
            bulk.add(i % 10 == 9 ? req.setPipeline("sealed-keyed-ingest") : req); // a few keyed records beside them
        }
        BulkResponse indexed = bulk.get();
        assertFalse(indexed.buildFailureMessage(), indexed.hasFailures());

        Map<?, ?> stored = (Map<?, ?>)
                client().prepareGet("vault", "d1").get().getSourceAsMap().get("embedding");
        assertEquals(Set.of("p", "n", "s", "e"), stored.keySet());
        Map<?, ?> keyedRecord = (Map<?, ?>)
                client().prepareGet("vault", "d9").get().getSourceAsMap().get("embedding");
        assertEquals(Set.of("p", "n", "c", "z", "e"), keyedRecord.keySet());

        float[] q = gaussian(1, 15)[0];
        List<Integer> truth = new ArrayList<>();
        for (int i = 0; i < docs.length; i++) {
            truth.add(i);
        }
        truth.sort(Comparator.comparingDouble((Integer i) -> -VectorTransform.similarity(q, docs[i], Space.COSINE)));
        for (String pipeline : List.of("sealed-search", "sealed-ckks")) {
            SearchHit[] hits = knn("vault", pipeline, q, 60, 10, null).getHits().getHits();
            assertEquals(10, hits.length);
            for (int r = 0; r < hits.length; r++) {
                assertEquals(pipeline + " rank " + r, "d" + truth.get(r), hits[r].getId());
                assertEquals(
                        pipeline + " rank " + r,
                        VectorTransform.similarity(q, docs[truth.get(r)], Space.COSINE),
                        hits[r].getScore(),
                        1e-5);
            }
        }

        // rotation and re-key: sealed again under epoch 2, same scores
        Reply rotated = rest(
                RestRequest.Method.POST, RestModelsAction.BASE + "/sealed/_rotate", Map.of("model_id", "sealed"), null);
        assertEquals(rotated.raw(), RestStatus.OK, rotated.status());
        rekeyByHand("sealed", "vault", 10);
        Map<?, ?> rekeyed = (Map<?, ?>)
                client().prepareGet("vault", "d1").get().getSourceAsMap().get("embedding");
        assertEquals(2, rekeyed.get("e"));
        assertEquals(Set.of("p", "n", "s", "e"), rekeyed.keySet());
        assertNotEquals(stored.get("s"), rekeyed.get("s"));
        SearchHit[] after =
                knn("vault", "sealed-search", q, 60, 10, null).getHits().getHits();
        for (int r = 0; r < after.length; r++) {
            assertEquals("after re-key, rank " + r, "d" + truth.get(r), after[r].getId());
        }

        // an altered s, written around the pipeline by someone with write access to the storage tier: refused
        Map<String, Object> altered =
                new HashMap<>(client().prepareGet("vault", "d20").get().getSourceAsMap());
        Map<String, Object> record = new HashMap<>((Map<String, Object>) altered.get("embedding"));
        byte[] s = Base64.getDecoder().decode((String) record.get("s"));
        s[3] ^= 1;
        record.put("s", Base64.getEncoder().encodeToString(s));
        altered.put("embedding", record);
        client().prepareIndex("vault")
                .setId("d20")
                .setSource(altered)
                .setPipeline("_none")
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        Exception refused = expectThrows(Exception.class, () -> knn("vault", "sealed-search", q, 60, 10, null));
        assertTrue(allMessages(refused), allMessages(refused).contains("does not open"));
        // the stored data failed, not the request: a 5xx, not a 400
        assertEquals(allMessages(refused), RestStatus.INTERNAL_SERVER_ERROR, ExceptionsHelper.status(refused));

        // a record form that does not exist: the pipeline is refused, naming the option
        Exception badForm = expectThrows(Exception.class, () -> putIngestPipeline("bad-form", "sealed", "secret"));
        assertTrue(allMessages(badForm), allMessages(badForm).contains("[record_form] must be [keyed] or [sealed]"));
    }

    /**
     * Re-keys documents d0 … d{count − 1} of {@code index} to the model's current epoch through a pipeline with the
     * {@code encrypted_knn_rekey} processor, document by document: {@code _update_by_query} lives in the reindex
     * module, not loaded in this test node.
     */
    void rekeyByHand(String model, String index, int count) {
        client().admin()
                .cluster()
                .preparePutPipeline(
                        model + "-rekey",
                        new BytesArray("{\"processors\":[{\"encrypted_knn_rekey\":{\"model_id\":\"" + model
                                + "\",\"field\":\"embedding\"}}]}"),
                        MediaTypeRegistry.JSON)
                .get();
        for (int i = 0; i < count; i++) {
            GetResponse g = client().prepareGet(index, "d" + i).get();
            client().prepareIndex(index)
                    .setId("d" + i)
                    .setSource(g.getSourceAsMap())
                    .setPipeline(model + "-rekey")
                    .get();
        }
        client().admin().indices().prepareRefresh(index).get();
    }

    SearchResponse search(String index, SearchSourceBuilder source, String pipeline) {
        return client().search(new org.opensearch.action.search.SearchRequest(index)
                        .source(source)
                        .pipeline(pipeline))
                .actionGet();
    }

    SearchSourceBuilder sourceOf(String json) throws Exception {
        try (var parser = createParser(XContentType.JSON.xContent(), json)) {
            return SearchSourceBuilder.fromXContent(parser);
        }
    }

    /**
     * Model {@code name}, pipelines {@code name-ingest} and {@code name-search} (probing {@code probe} of 4 cells), index
     * {@code name-idx} holding document "1".
     */
    void oneDocumentIndex(String name, int probe, int seed) throws Exception {
        createModel(name, 4, gaussian(100, seed));
        putIngestPipeline(name + "-ingest", name);
        putSearchPipeline(name + "-search", name, probe);
        createIndex(name + "-idx", name, 4, name + "-ingest");
        client().prepareIndex(name + "-idx")
                .setId("1")
                .setSource(doc(gaussian(1, seed + 1)[0], 1), XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
    }

    /** What a _reindex without the re-key processor's source_index leaves: a 400 naming the field, not a 500. */
    public void testFieldCopiedWithoutRebindingIsA400() throws Exception {
        oneDocumentIndex("copy", 2, 21);
        createIndex("copy-b", "copy", 4, "_none");
        String stored = client().prepareGet("copy-idx", "1").get().getSourceAsString(); // body bound to copy-idx
        client().prepareIndex("copy-b")
                .setId("1")
                .setSource(stored, XContentType.JSON)
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .get();
        Exception e =
                expectThrows(Exception.class, () -> knn("copy-b", "copy-search", gaussian(1, 23)[0], 10, 5, null));
        assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(
                allMessages(e),
                allMessages(e).contains("field [body] of hit [1] in index [copy-b] cannot be decrypted"));
    }

    public void testIngestValidationIndexesNothing() throws Exception {
        createModel("val", 4, gaussian(100, 5));
        putIngestPipeline("val-ingest", "val");
        createIndex("val-idx", "val", 4, "val-ingest");

        float[] wrong = new float[DIM - 2];
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("val-idx")
                        .setId("w")
                        .setSource(doc(wrong, 1), XContentType.JSON)
                        .get());
        assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(
                allMessages(e),
                allMessages(e).contains("field [embedding] has 14 values but the model has dimension 16"));

        String overflow =
                doc(gaussian(1, 6)[0], 2).replaceFirst("\\[", "[1e39,").replaceFirst(",[^,]*\\]", "]");
        e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("val-idx")
                        .setId("n")
                        .setSource(overflow, XContentType.JSON)
                        .get());
        assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(allMessages(e), allMessages(e).contains("field [embedding][0] is not a finite float32"));

        String nan = "{\"embedding\":[\"NaN\"" + ",0".repeat(DIM - 1) + "],\"body\":\"x\"}";
        e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("val-idx")
                        .setId("nan")
                        .setSource(nan, XContentType.JSON)
                        .get());
        assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(allMessages(e), allMessages(e).contains("field [embedding][0] is not a number"));

        // a bulk with one bad document: the good one is indexed, the bad one not at all
        BulkResponse bulk = client().prepareBulk()
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
                .add(client().prepareIndex("val-idx")
                        .setId("ok")
                        .setSource(doc(gaussian(1, 7)[0], 3), XContentType.JSON))
                .add(client().prepareIndex("val-idx").setId("bad").setSource(doc(wrong, 4), XContentType.JSON))
                .get();
        assertTrue(bulk.hasFailures());
        assertFalse(bulk.getItems()[0].isFailed());
        assertTrue(bulk.getItems()[1].isFailed());
        assertEquals(RestStatus.BAD_REQUEST, bulk.getItems()[1].status());
        assertFalse(client().prepareGet("val-idx", "bad").get().isExists());
        assertFalse(client().prepareGet("val-idx", "w").get().isExists());
        assertEquals(
                1,
                client().prepareSearch("val-idx")
                        .setSize(0)
                        .get()
                        .getHits()
                        .getTotalHits()
                        .value());

        // unknown model
        putIngestPipeline("nomodel-ingest", "does-not-exist");
        e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("val-idx")
                        .setId("x")
                        .setPipeline("nomodel-ingest")
                        .setSource(doc(gaussian(1, 8)[0], 5), XContentType.JSON)
                        .get());
        assertEquals(allMessages(e), RestStatus.NOT_FOUND, ExceptionsHelper.status(e));
        assertTrue(allMessages(e), allMessages(e).contains("model [does-not-exist] not found"));
    }

    public void testReloadMissingAndWrongKey() throws Exception {
        oneDocumentIndex("rk", 4, 10);
        float[] q = gaussian(1, 12)[0];
        assertEquals(1, knn("rk-idx", "rk-search", q, 5, 5, null).getHits().getHits().length);
        try {
            // 1. key removed from the keystore: storage keeps working, gateway operations say what is missing
            reload(null);
            String missing = KeystoreSettings.MASTER_KEY + " is not set in the keystore of node [";
            expect400(putModel("rk2", modelBody(4, gaussian(100, 13))), missing);
            assertEquals(RestStatus.OK, getModel("rk").status()); // public metadata needs no key
            Exception e = expectThrows(
                    Exception.class,
                    () -> client().prepareIndex("rk-idx")
                            .setId("2")
                            .setSource(doc(gaussian(1, 14)[0], 2), XContentType.JSON)
                            .get());
            assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
            assertTrue(allMessages(e), allMessages(e).contains(missing));
            e = expectThrows(Exception.class, () -> knn("rk-idx", "rk-search", q, 5, 5, null));
            assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
            assertTrue(allMessages(e), allMessages(e).contains(missing));
            assertEquals(
                    1,
                    client().prepareSearch("rk-idx")
                            .setSize(0)
                            .get()
                            .getHits()
                            .getTotalHits()
                            .value());

            // 2. another key: the stored model does not open, and the error says why
            reload(OTHER_KEY);
            e = expectThrows(Exception.class, () -> knn("rk-idx", "rk-search", q, 5, 5, null));
            assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
            assertTrue(
                    allMessages(e),
                    allMessages(e).contains("model [rk] cannot be decrypted with the " + KeystoreSettings.MASTER_KEY));
            assertFalse(allMessages(e), allMessages(e).contains(OTHER_KEY));
            Reply rotate = rest(
                    RestRequest.Method.POST, RestModelsAction.BASE + "/rk/_rotate", Map.of("model_id", "rk"), null);
            assertEquals(rotate.raw(), RestStatus.BAD_REQUEST, rotate.status());
            assertTrue(rotate.raw(), rotate.raw().contains("model [rk] cannot be decrypted"));

            // 3. malformed key value: reload fails, the previous key stays, the value is not echoed
            e = expectThrows(Exception.class, () -> reload("bm90IDMyIGJ5dGVz"));
            assertTrue(allMessages(e), allMessages(e).contains("unusable (decodes to 12 bytes, not 32)"));
            assertFalse(allMessages(e), allMessages(e).contains("bm90IDMyIGJ5dGVz"));
        } finally {
            reload(KEY);
        }
        // 4. the original key again: everything works; the old generations were zeroed
        assertEquals(1, knn("rk-idx", "rk-search", q, 5, 5, null).getHits().getHits().length);
    }

    public void testFirstSearchDerivesTheModelsCellsInTheBackground() throws Exception {
        NodeKeyHolder gateway = new NodeKeyHolder();
        ThreadPool pool = new TestThreadPool("warm-up");
        try {
            gateway.start(Settings.builder().setSecureSettings(secure(KEY)).build(), null, null, pool, null);
            int cells = 4;
            EncryptionModel model = ModelFitter.fit(
                    "warm",
                    new ModelParameters(16, Space.COSINE, 4, cells, ModelParameters.DEFAULT_BETA, 1),
                    gaussian(400, 5));
            try (KeyLease lease = gateway.acquire()) {
                CachedModel cached = new CachedModel(model, 0, 1, System.nanoTime(), lease.state());
                VectorTransform transform = cached.transform();
                assertEquals("loading a model derives no cell", 0, transform.cachedBytes());
                gateway.warmUpForSearch(cached);
                gateway.warmUpForSearch(cached); // once per model version
                long n = model.residualLength(); // (d − d_pub + 1)² floats per cell
                assertBusy(() -> assertEquals(cells * n * n * Float.BYTES, transform.cachedBytes()));
            }
        } finally {
            ThreadPool.terminate(pool, 10, TimeUnit.SECONDS);
            gateway.close();
        }
    }

    public void testKeyGenerationsAreIsolatedAndZeroed() throws Exception {
        NodeKeyHolder gateway = new NodeKeyHolder();
        gateway.reload(Settings.builder().setSecureSettings(secure(KEY)).build());
        KeyLease inFlight = gateway.acquire();
        KeyState first = inFlight.state();
        gateway.reload(Settings.builder().setSecureSettings(secure(OTHER_KEY)).build());
        // the in-flight request keeps its generation until it ends; new requests get the new one
        assertFalse(first.isClosed());
        try (KeyLease next = gateway.acquire()) {
            assertNotSame(first, next.state());
            String a = inFlight.fieldCipher("body").encryptDeterministic("x");
            String b = next.fieldCipher("body").encryptDeterministic("x");
            assertNotEquals(a, b);
        }
        inFlight.close();
        assertTrue("the retired generation is zeroed when its last request ends", first.isClosed());
        inFlight.close(); // idempotent

        // the forced close after RETIRED_GRACE while a request still holds its lease: the request's cipher refuses
        // (IllegalStateException) instead of computing with zeroed keys
        KeyLease held = gateway.acquire();
        KeyState second = held.state();
        FieldCipher cipher = held.fieldCipher("body");
        String ct = cipher.encrypt("in flight", "mail", "d1");
        gateway.reload(Settings.builder().setSecureSettings(secure(KEY)).build());
        assertFalse("retired, but a lease is held", second.isClosed());
        assertEquals("in flight", cipher.decrypt(ct, "mail", "d1"));
        second.close(); // what the scheduled forced close does
        expectThrows(IllegalStateException.class, () -> cipher.decrypt(ct, "mail", "d1"));
        held.close();

        gateway.reload(Settings.EMPTY);
        Exception e = expectThrows(Exception.class, gateway::acquire);
        assertTrue(e.getMessage().contains(KeystoreSettings.MASTER_KEY + " is not set"));
        gateway.close();
    }
}
