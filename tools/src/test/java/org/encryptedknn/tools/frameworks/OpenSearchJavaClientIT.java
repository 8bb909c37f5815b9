package org.encryptedknn.tools.frameworks;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.apache.hc.core5.http.HttpHost;
import org.encryptedknn.corpus.CorpusMessage;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.tools.audit.PlaintextScan;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.opensearch.client.json.JsonData;
import org.opensearch.client.json.jackson.JacksonJsonpMapper;
import org.opensearch.client.opensearch.OpenSearchClient;
import org.opensearch.client.opensearch._types.query_dsl.KnnQuery;
import org.opensearch.client.opensearch._types.query_dsl.Query;
import org.opensearch.client.opensearch.core.BulkRequest;
import org.opensearch.client.opensearch.core.BulkResponse;
import org.opensearch.client.opensearch.core.SearchRequest;
import org.opensearch.client.opensearch.core.search.Hit;
import org.opensearch.client.opensearch.generic.Requests;
import org.opensearch.client.opensearch.generic.Response;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5TransportBuilder;
import org.opensearch.client.util.ObjectBuilder;

/**
 * The official Java client (opensearch-java) used as an application uses it — typed index creation with a
 * {@code knn_vector} mapping, bulk indexing of plaintext vectors, the {@code knn} query at top level, in {@code bool}
 * with a filter, with an efficient filter, with {@code min_score} — against an encrypted index and a plaintext k-NN
 * index on the node of scripts/test.sh ({@code -Dtests.rest.cluster}). The application code is one method for both;
 * the operator's index template with the opt-in setting is the only difference (docs/frameworks.md). Then the node's
 * data path is scanned for the indexed vectors: none outside the plaintext index, and all of them in it.
 */
@SuppressWarnings("rawtypes") // hits with a Map source, as an application without a document class reads them
public class OpenSearchJavaClientIT {
    private static final String MODEL = "java-client-minilm";
    private static final String TEMPLATE = "java-client-encrypted";
    private static final String ENCRYPTED = "java-client-enc-mail";
    private static final String PLAIN = "java-client-plain-mail";
    private static final String FIELD = "embedding";
    private static final int DOCS = 1000;
    private static final int QUERIES = 30;
    private static final int K = 10;
    private static final double MIN_OVERLAP = 0.95;
    /**
     * The recall@10 against exact search the model's default window is calibrated for: the suite compares with k-NN's
     * own approximate top 10 and asks for {@link #MIN_OVERLAP}, for which the fit default 0.95 leaves no margin (the
     * augmented prefix ranks stage 1 well enough that the calibrated window is as small as 0.95 allows).
     */
    private static final double TARGET_RECALL = 0.99;

    private static final double SCORE_TOLERANCE = 1e-4;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static OpenSearchClient client;
    private static List<CorpusMessage> docs;
    private static float[][] docVectors;
    private static float[][] queries;

    @BeforeClass
    public static void operatorThenApplication() throws IOException {
        String cluster = System.getProperty("tests.rest.cluster");
        assertNotNull("run with -Dtests.rest.cluster=host:port (scripts/test.sh does)", cluster);
        String[] hostPort = cluster.split(",")[0].trim().split(":");
        client = new OpenSearchClient(ApacheHttpClient5TransportBuilder.builder(
                        new HttpHost("http", hostPort[0], Integer.parseInt(hostPort[1])))
                .setMapper(new JacksonJsonpMapper())
                .build());
        EmbeddedCorpus corpus = EmbeddedCorpus.load(DOCS + QUERIES);
        EmbeddedCorpus.Split split = corpus.split(DOCS, QUERIES);
        docs = split.index().messages();
        docVectors = split.index().vectors();
        queries = split.queries().vectors();

        removeWhatThisTestMakes();
        // The operator: a model fitted on the node, and the template that opts matching indices in.
        StringBuilder training = new StringBuilder();
        for (float[] v : docVectors) {
            training.append(training.isEmpty() ? "" : ",").append(Arrays.toString(v));
        }
        call("PUT", "/_plugins/encrypted_knn/models/" + MODEL, """
                {"dimension": %d, "space": "cosine", "cells": 32, "target_recall": %s, "training_vectors": [%s]}""".formatted(
                        docVectors[0].length, TARGET_RECALL, training));
        call("PUT", "/_index_template/" + TEMPLATE, """
                {"index_patterns": ["%s"], "template": {"settings": {"index.encrypted_knn.model_id": "%s"}}}""".formatted(ENCRYPTED, MODEL));

        for (String index : List.of(ENCRYPTED, PLAIN)) {
            createAndLoad(index);
        }
    }

    /** The application: one index with a knn_vector field and a keyword, bulk-indexed, refreshed. */
    private static void createAndLoad(String index) throws IOException {
        client.indices()
                .create(c -> c.index(index)
                        .settings(s -> s.knn(true).numberOfShards(1).numberOfReplicas(0))
                        .mappings(m -> m.properties(
                                        FIELD,
                                        p -> p.knnVector(v -> v.dimension(docVectors[0].length)
                                                .method(h -> h.name("hnsw")
                                                        .engine("lucene")
                                                        .spaceType("cosinesimil")
                                                        .parameters("m", JsonData.of(16))
                                                        .parameters("ef_construction", JsonData.of(128)))))
                                .properties("spam", p -> p.boolean_(b -> b))
                                .properties("subject", p -> p.text(t -> t))));
        BulkRequest.Builder bulk = new BulkRequest.Builder().index(index);
        for (int i = 0; i < docs.size(); i++) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put(FIELD, docVectors[i]);
            doc.put("spam", docs.get(i).spam());
            doc.put("subject", docs.get(i).subject());
            String id = docs.get(i).id();
            bulk.operations(o -> o.index(x -> x.id(id).document(doc)));
        }
        BulkResponse response = client.bulk(bulk.build());
        assertFalse("bulk into " + index + ": " + response.items().get(0).error(), response.errors());
        client.indices().refresh(r -> r.index(index));
    }

    @AfterClass
    public static void removeWhatThisTestMakes() throws IOException {
        if (client == null) {
            return;
        }
        for (String path : List.of(
                "/" + ENCRYPTED,
                "/" + PLAIN,
                "/_index_template/" + TEMPLATE,
                "/_plugins/encrypted_knn/models/" + MODEL)) {
            try (Response r = client.generic()
                    .execute(Requests.builder().method("DELETE").endpoint(path).build())) {
                assertTrue(path + ": " + r.getStatus(), r.getStatus() == 200 || r.getStatus() == 404);
            }
        }
    }

    @Test
    public void knnQuery() throws IOException {
        compare("knn", v -> Query.of(q -> q.knn(knn(v))), null);
    }

    @Test
    public void knnInBoolWithFilter() throws IOException {
        compare(
                "bool + filter",
                v -> Query.of(q -> q.bool(b -> b.must(m -> m.knn(knn(v)))
                        .filter(f -> f.term(t -> t.field("spam").value(x -> x.booleanValue(true)))))),
                null);
    }

    @Test
    public void knnWithEfficientFilter() throws IOException {
        compare(
                "knn.filter",
                v -> Query.of(q -> q.knn(k -> k.field(FIELD)
                        .vector(floats(v))
                        .k(K)
                        .filter(f -> f.term(t -> t.field("spam").value(x -> x.booleanValue(false)))))),
                null);
    }

    @Test
    public void minScore() throws IOException {
        // A threshold written for k-NN's scores: between the 5th and 6th plaintext score of the first query, never a
        // score itself (the scores agree to 1e-4, not to the last bit: rounding would decide whether that hit passes)
        List<Hit<Map>> first = search(PLAIN, Query.of(q -> q.knn(knn(queries[0]))), null);
        float threshold =
                (float) ((first.get(K / 2 - 1).score() + first.get(K / 2).score()) / 2);
        compare("min_score", v -> Query.of(q -> q.knn(knn(v))), threshold);
    }

    @Test
    public void vectorsReadBackFromSource() throws IOException {
        for (Hit<Map> hit : search(ENCRYPTED, Query.of(q -> q.knn(knn(queries[0]))), null)) {
            Object stored = hit.source().get(FIELD);
            assertTrue(hit.id() + ": _source " + FIELD + " is " + stored, stored instanceof List<?>);
            float[] want = docVectors[indexOf(hit.id())];
            List<?> got = (List<?>) stored;
            assertEquals(want.length, got.size());
            for (int i = 0; i < want.length; i++) {
                assertEquals(
                        want[i],
                        ((Number) got.get(i)).floatValue(),
                        1e-5f); // the read-back of a cosine model is normalized; MiniLM vectors are unit vectors
            }
        }
    }

    @Test
    public void noPlaintextVectorOnDisk() throws IOException {
        call("POST", "/" + ENCRYPTED + "," + PLAIN + "/_flush", null);
        PlaintextScan scan = new PlaintextScan(Arrays.asList(docVectors));
        PlaintextScan.Result plain = scan.scan(indexDirectory(PLAIN));
        assertTrue("the scan must see the plaintext index's vectors: " + plain, plain.vectorsFound() >= DOCS * 9 / 10);
        PlaintextScan.Result encrypted = scan.scan(indexDirectory(ENCRYPTED));
        System.out.printf(Locale.ROOT, "scan: %s %s, %s %s%n", PLAIN, plain, ENCRYPTED, encrypted);
        assertEquals("plaintext vectors in " + ENCRYPTED + ": " + encrypted, 0, encrypted.vectorsFound());
    }

    private static Function<KnnQuery.Builder, ObjectBuilder<KnnQuery>> knn(float[] v) {
        return k -> k.field(FIELD).vector(floats(v)).k(K);
    }

    /** The same query on both indices for every held-out message: mean top-k overlap and score agreement. */
    private static void compare(String label, Function<float[], Query> query, Float minScore) throws IOException {
        double overlap = 0;
        double worst = 0;
        for (float[] v : queries) {
            List<Hit<Map>> enc = search(ENCRYPTED, query.apply(v), minScore);
            List<Hit<Map>> plain = search(PLAIN, query.apply(v), minScore);
            Map<String, Double> plainScores = new HashMap<>();
            plain.forEach(h -> plainScores.put(h.id(), h.score()));
            int common = 0;
            for (Hit<Map> h : enc) {
                Double s = plainScores.get(h.id());
                if (s != null) {
                    common++;
                    worst = Math.max(worst, Math.abs(s - h.score()));
                }
                if (minScore != null) {
                    assertTrue(label + ": score below min_score", h.score() >= minScore);
                }
            }
            // shared hits over the longer list: a post-filter or min_score may leave either list short, or empty
            overlap += enc.isEmpty() && plain.isEmpty() ? 1 : (double) common / Math.max(enc.size(), plain.size());
        }
        overlap /= queries.length;
        System.out.printf(
                Locale.ROOT,
                "opensearch-java %s: %d queries, mean top-%d overlap %.4f, max |score diff| %.2e%n",
                label,
                queries.length,
                K,
                overlap,
                worst);
        assertTrue(label + ": mean overlap " + overlap, overlap >= MIN_OVERLAP);
        assertTrue(label + ": score differs from k-NN's by " + worst, worst <= SCORE_TOLERANCE);
    }

    private static List<Hit<Map>> search(String index, Query query, Float minScore) throws IOException {
        SearchRequest.Builder request =
                new SearchRequest.Builder().index(index).size(K).query(query);
        if (minScore != null) {
            request.minScore(minScore.doubleValue());
        }
        return client.search(request.build(), Map.class).hits().hits();
    }

    private static List<Float> floats(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float x : v) {
            out.add(x);
        }
        return out;
    }

    private static int indexOf(String id) {
        for (int i = 0; i < docs.size(); i++) {
            if (docs.get(i).id().equals(id)) {
                return i;
            }
        }
        throw new AssertionError("unknown id " + id);
    }

    private static Path indexDirectory(String index) throws IOException {
        String uuid = call("GET", "/" + index + "/_settings", null)
                .path(index)
                .path("settings")
                .path("index")
                .path("uuid")
                .asText();
        for (JsonNode node : call("GET", "/_nodes/_local/stats/fs", null).path("nodes")) {
            for (JsonNode data : node.path("fs").path("data")) {
                Path dir = Path.of(data.path("path").asText(), "indices", uuid);
                if (Files.isDirectory(dir)) {
                    return dir;
                }
            }
        }
        throw new AssertionError("no directory of " + index + " (" + uuid + "): the node must run on this machine");
    }

    /** The operator's and the test's own requests (no typed API for the plugin's endpoints): 2xx or fail. */
    private static JsonNode call(String method, String path, String json) throws IOException {
        Requests.JsonBodyBuilder request = Requests.builder().method(method).endpoint(path);
        if (json != null) {
            request.json(json);
        }
        try (Response r = client.generic().execute(request.build())) {
            String body = r.getBody().map(b -> b.bodyAsString()).orElse("{}");
            assertTrue(method + " " + path + " → " + r.getStatus() + " " + body, r.getStatus() / 100 == 2);
            return JSON.readTree(body);
        }
    }
}
