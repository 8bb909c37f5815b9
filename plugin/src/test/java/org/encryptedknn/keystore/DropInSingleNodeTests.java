package org.encryptedknn.keystore;

import static org.encryptedknn.keystore.GatewaySingleNodeTests.DIM;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.KEY;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.allMessages;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.gaussian;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.json;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.modelBody;
import static org.encryptedknn.keystore.GatewaySingleNodeTests.secure;

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
        return List.of(EncryptedKnnPlugin.class);
    }

    @Override
    protected Settings nodeSettings() {
        return Settings.builder()
                .put(super.nodeSettings())
                .setSecureSettings(secure(KEY))
                .build();
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
        return "{\"properties\":{\"text\":{\"type\":\"text\"},\"" + field
                + "\":{\"type\":\"encrypted_knn_vector\",\"model_id\":\"" + MODEL + "\",\"dimension\":" + DIM
                + ",\"prefix_dimension\":4,\"cells\":4}}}";
    }

    static void assertRecord(Object value) {
        assertTrue(String.valueOf(value), value instanceof Map<?, ?>);
        Map<?, ?> record = (Map<?, ?>) value;
        for (String key : List.of("p", "n", "c", "z", "e")) {
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
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("not-opted-in")
                        .setId("x")
                        .setSource("{\"embedding\":" + json(gaussian(1, 3)[0]) + "}", XContentType.JSON)
                        .get());
        assertTrue(allMessages(e), allMessages(e).contains("accepts only encrypted vectors"));
    }

    public void testWithoutTheKeyNothingIsWritten() throws Exception {
        ensureModel();
        createAppIndex("app-nokey", encryptedMapping("embedding"));
        plugin().reload(Settings.builder().setSecureSettings(secure(null)).build());
        try {
            Exception e = expectThrows(
                    Exception.class,
                    () -> client().prepareIndex("app-nokey")
                            .setId("x")
                            .setSource("{\"embedding\":" + json(gaussian(1, 4)[0]) + "}", XContentType.JSON)
                            .get());
            assertTrue(allMessages(e), allMessages(e).contains(KeystoreSettings.MASTER_KEY));
            assertFalse(client().prepareGet("app-nokey", "x").get().isExists());
        } finally {
            plugin().reload(Settings.builder().setSecureSettings(secure(KEY)).build());
        }
    }
}
