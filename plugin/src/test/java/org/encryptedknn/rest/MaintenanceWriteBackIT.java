package org.encryptedknn.rest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.encryptedknn.fields.FieldCipher;
import org.opensearch.client.Request;
import org.opensearch.client.Response;
import org.opensearch.client.ResponseException;
import org.opensearch.test.rest.OpenSearchRestTestCase;

/**
 * The maintenance recipes of docs/gateway-mode.md §5 — re-key in place with {@code _update_by_query?pipeline=…} and the
 * {@code _reindex} recipe (destination created first) — run on an index whose {@code index.search.default_pipeline}
 * decrypts, as §4 suggests. Afterwards no plaintext text value may be stored: every document read back directly
 * ({@code GET _doc}, which no search pipeline touches) holds ciphertext, and the node's data directory (segments and
 * translog of both indices, after a flush) contains none of the plaintext marker strings.
 *
 * <p>The scan of the data directory is checked to see plaintext: a plain index holding a marker is scanned the same way
 * and must be found. This needs the test node on this machine ({@code -Dtests.rest.cluster}, scripts/test.sh).
 */
public class MaintenanceWriteBackIT extends OpenSearchRestTestCase {

    private static final String MODEL = "m_writeback";
    private static final String SOURCE = "wb_mail";
    private static final String DEST = "wb_mail_v2";
    private static final String CONTROL = "wb_plain_control";
    private static final String MAPPING = """
            {"properties": {
              "sender": {"type": "keyword"},
              "body":   {"type": "text"},
              "embedding": {"type":"encrypted_knn_vector","model_id":"%s","dimension":8,"prefix_dimension":2,"prefix_layout":"augmented","cells":2}
            }}""".formatted(MODEL);

    @Override
    protected boolean preserveIndicesUponCompletion() {
        return true; // the YAML suite shares the node: this test removes only what it made
    }

    public void testDocumentedMaintenanceRecipesStoreNoPlaintext() throws IOException {
        Random random = new Random(random().nextLong());
        List<String> markers = new ArrayList<>();
        try {
            setUpModelAndPipelines(random);
            put("/" + SOURCE, """
                    {"settings": {"index.encrypted_knn": true, "number_of_shards": 1, "number_of_replicas": 0,
                                  "index.default_pipeline": "wb_ingest", "index.search.default_pipeline": "wb_search"},
                     "mappings": %s}""".formatted(MAPPING));
            StringBuilder bulk = new StringBuilder();
            for (int id = 1; id <= 4; id++) {
                String body = marker(random, "body");
                String sender = marker(random, "sender");
                markers.add(body);
                markers.add(sender);
                bulk.append("{\"index\":{\"_index\":\"" + SOURCE + "\",\"_id\":\"" + id + "\"}}\n");
                bulk.append("{\"body\":\"" + body + "\",\"sender\":\"" + sender + "\",\"embedding\":" + vector(random)
                        + "}\n");
            }
            Request request = new Request("POST", "/_bulk?refresh=true");
            request.setJsonEntity(bulk.toString());
            assertFalse(
                    entityAsMap(client().performRequest(request)).get("errors").equals(Boolean.TRUE));

            // The default search pipeline decrypts: a plain search shows the markers (what the recipes must not store).
            String searched = post("/" + SOURCE + "/_search", "{\"query\":{\"match_all\":{}}}");
            assertTrue(searched, searched.contains(markers.get(0)));

            // §5: rotate, then re-key in place with _update_by_query?pipeline=… (no search_pipeline=_none).
            post("/_plugins/encrypted_knn/models/" + MODEL + "/_rotate", null);
            put("/_ingest/pipeline/wb_rekey", """
                    {"processors": [{"encrypted_knn_rekey": {"model_id":"%s","field":"embedding"}}]}""".formatted(MODEL));
            String updated = post("/" + SOURCE + "/_update_by_query?pipeline=wb_rekey&refresh=true", null);
            assertTrue(updated, updated.contains("\"updated\":4"));
            assertStoredSourcesEncrypted(SOURCE, List.of("1", "2", "3", "4"), markers);

            // §5: the _reindex recipe, destination created first.
            put("/" + DEST, """
                    {"settings": {"index.encrypted_knn": true, "number_of_shards": 1, "number_of_replicas": 0},
                     "mappings": %s}""".formatted(MAPPING));
            put("/_ingest/pipeline/wb_rekey_from_mail", """
                    {"processors": [{"encrypted_knn_rekey": {"model_id":"%s","field":"embedding",
                      "encrypt_fields":["body"],"deterministic_fields":["sender"],"source_index":"%s"}}]}""".formatted(MODEL, SOURCE));
            String reindexed = post("/_reindex?refresh=true", """
                    {"source": {"index": "%s"}, "dest": {"index": "%s", "pipeline": "wb_rekey_from_mail"}}""".formatted(SOURCE, DEST));
            assertTrue(reindexed, reindexed.contains("\"created\":4"));

            // Other write paths: a plaintext text value through the re-key processor is encrypted, a plaintext
            // vector is refused by it and by the mapper (nothing stored).
            Map<?, ?> stored = (Map<?, ?>) get("/" + DEST + "/_doc/1").get("_source");
            String embedding = toJson(stored.get("embedding"));
            String extra = marker(random, "extra");
            markers.add(extra);
            put("/" + DEST + "/_doc/9?pipeline=wb_rekey_from_mail&refresh=true", """
                    {"body":"%s","sender":"%s","embedding":%s}""".formatted(
                            extra, extra, embedding));
            assertRefused(
                    "/" + DEST + "/_doc/10?pipeline=wb_rekey_from_mail",
                    "{\"body\":\"x\",\"embedding\":" + vector(random) + "}",
                    "embedding");
            assertRefused("/" + DEST + "/_doc/11", "{\"embedding\":" + vector(random) + "}", "embedding");
            // Plaintext dressed as a ciphertext is refused by the ingest processor, not stored as "already encrypted".
            String disguised = FieldCipher.RANDOMIZED_PREFIX
                    + java.util.Base64.getEncoder()
                            .encodeToString(marker(random, "disguised").getBytes(StandardCharsets.UTF_8));
            assertRefused(
                    "/" + SOURCE + "/_doc/12",
                    "{\"body\":\"" + disguised + "\",\"embedding\":" + vector(random) + "}",
                    "body");

            assertStoredSourcesEncrypted(DEST, List.of("1", "2", "3", "4", "9"), markers);
            // The copies are still readable through the search pipeline.
            String copy = post("/" + DEST + "/_search?search_pipeline=wb_search", "{\"query\":{\"match_all\":{}}}");
            assertTrue(copy, copy.contains(markers.get(0)) && copy.contains(extra));

            // The data directory: segments and translog of both indices.
            post("/" + SOURCE + "," + DEST + "/_flush?force=true", null);
            for (String index : List.of(SOURCE, DEST)) {
                List<String> found = scan(indexDirectory(index), markers);
                assertTrue("plaintext in the data directory of [" + index + "]: " + found, found.isEmpty());
            }

            // The scan can see plaintext: a marker in a plain index is found the same way.
            String control = marker(random, "control");
            put("/" + CONTROL + "?wait_for_active_shards=1", """
                    {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}""");
            put("/" + CONTROL + "/_doc/1?refresh=true", "{\"body\":\"" + control + "\"}");
            post("/" + CONTROL + "/_flush?force=true", null);
            assertEquals(List.of(control), scan(indexDirectory(CONTROL), List.of(control)));
        } finally {
            cleanUp();
        }
    }

    private void setUpModelAndPipelines(Random random) throws IOException {
        StringBuilder training = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            training.append(i == 0 ? "" : ",").append(vector(random));
        }
        put("/_plugins/encrypted_knn/models/" + MODEL, """
                {"dimension":8,"space":"cosine","prefix_dimension":2,"cells":2,"beta":0.5,"training_vectors":[%s]}""".formatted(training));
        put("/_ingest/pipeline/wb_ingest", """
                {"processors": [{"encrypted_knn": {"model_id":"%s","field":"embedding",
                  "encrypt_fields":["body"],"deterministic_fields":["sender"]}}]}""".formatted(MODEL));
        put("/_search/pipeline/wb_search", """
                {"request_processors":  [{"encrypted_knn_query":  {"model_id":"%1$s","deterministic_fields":["sender"]}}],
                 "response_processors": [{"encrypted_knn_rerank": {"model_id":"%1$s","decrypt_fields":["body","sender"]}}]}""".formatted(MODEL));
    }

    private void assertStoredSourcesEncrypted(String index, List<String> ids, List<String> markers) throws IOException {
        // Direct reads: GET _doc never runs a search pipeline, so this is the stored _source.
        for (String id : ids) {
            Map<String, Object> doc = get("/" + index + "/_doc/" + id);
            Map<?, ?> source = (Map<?, ?>) doc.get("_source");
            assertTrue(
                    index + "/" + id + ": " + source,
                    String.valueOf(source.get("body")).startsWith(FieldCipher.RANDOMIZED_PREFIX));
            assertTrue(
                    index + "/" + id + ": " + source,
                    String.valueOf(source.get("sender")).startsWith(FieldCipher.DETERMINISTIC_PREFIX));
            String json = toJson(source);
            for (String marker : markers) {
                assertFalse(index + "/" + id + " stores [" + marker + "]: " + json, json.contains(marker));
            }
        }
    }

    private Path indexDirectory(String index) throws IOException {
        String uuid = (String) ((Map<?, ?>) ((Map<?, ?>)
                                ((Map<?, ?>) get("/" + index + "/_settings").get(index)).get("settings"))
                        .get("index"))
                .get("uuid");
        Map<?, ?> nodes = (Map<?, ?>) get("/_nodes/_local/stats/fs").get("nodes");
        Map<?, ?> fs = (Map<?, ?>) ((Map<?, ?>) nodes.values().iterator().next()).get("fs");
        for (Object data : (List<?>) fs.get("data")) {
            Path dir = Path.of((String) ((Map<?, ?>) data).get("path"), "indices", uuid);
            if (Files.isDirectory(dir)) {
                return dir;
            }
        }
        throw new AssertionError("index [" + index + "] (" + uuid + ") not found in the data paths " + fs.get("data")
                + ": this test needs the node on this machine");
    }

    /** The markers whose UTF-8 bytes occur in any file under {@code dir}. */
    private static List<String> scan(Path dir, List<String> markers) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            List<byte[]> contents = files.filter(Files::isRegularFile)
                    .map(MaintenanceWriteBackIT::read)
                    .toList();
            for (String marker : markers) {
                byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
                if (contents.stream().anyMatch(bytes -> indexOf(bytes, needle) >= 0)) {
                    found.add(marker);
                }
            }
        }
        return found;
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            return new byte[0]; // a file merged or trimmed away while walking
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** A random lowercase word: one analyzer token, unique to this run, absent from any file by chance. */
    private static String marker(Random random, String what) {
        StringBuilder s = new StringBuilder("wbplain").append(what);
        for (int i = 0; i < 16; i++) {
            s.append((char) ('a' + random.nextInt(26)));
        }
        return s.toString();
    }

    private static String vector(Random random) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < 8; i++) {
            s.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.4f", random.nextGaussian()));
        }
        return s.append(']').toString();
    }

    private void assertRefused(String endpoint, String body, String field) throws IOException {
        Request request = new Request("PUT", endpoint);
        request.setJsonEntity(body);
        ResponseException e = expectThrows(ResponseException.class, () -> client().performRequest(request));
        assertEquals(400, e.getResponse().getStatusLine().getStatusCode());
        assertTrue(e.getMessage(), e.getMessage().contains("[" + field + "]"));
    }

    private void cleanUp() throws IOException {
        for (String endpoint : List.of(
                "/" + SOURCE + "," + DEST + "," + CONTROL + "?ignore_unavailable=true",
                "/_ingest/pipeline/wb_*",
                "/_search/pipeline/wb_search",
                "/_plugins/encrypted_knn/models/" + MODEL)) {
            try {
                client().performRequest(new Request("DELETE", endpoint));
            } catch (ResponseException e) {
                // not created: the test failed before
            }
        }
    }

    private Map<String, Object> get(String endpoint) throws IOException {
        return entityAsMap(client().performRequest(new Request("GET", endpoint)));
    }

    private void put(String endpoint, String body) throws IOException {
        Request request = new Request("PUT", endpoint);
        request.setJsonEntity(body);
        client().performRequest(request);
    }

    private String post(String endpoint, String body) throws IOException {
        Request request = new Request("POST", endpoint);
        if (body != null) {
            request.setJsonEntity(body);
        }
        Response response = client().performRequest(request);
        return new String(response.getEntity().getContent().readAllBytes(), StandardCharsets.UTF_8);
    }

    private static String toJson(Object value) throws IOException {
        try (var builder = org.opensearch.common.xcontent.XContentFactory.jsonBuilder()) {
            return builder.value(value).toString();
        }
    }
}
