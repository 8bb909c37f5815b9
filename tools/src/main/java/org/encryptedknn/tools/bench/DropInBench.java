package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.model.WindowCalibration;

/**
 * The cost of the drop-in compatibility layer (docs/gateway-mode.md, "Drop-in"): on one index of a node whose keystore
 * holds the master key, the k-NN plugin's {@code knn} query (translated on the coordinating node) against the same
 * search written as {@code encrypted_knn} through a gateway search pipeline, interleaved query by query in one run.
 * Both do the same work on the data node and the same exact re-ranking; the difference is the translation. The
 * {@code knn} query's {@code k} is what frameworks send, the number of results they want (default 10); the drop-in
 * searches the model's calibrated window for the index (at least k), so the {@code encrypted_knn} query is given that
 * same window as its {@code k}: both fetch and re-rank the same candidates.
 *
 * <pre>java … org.encryptedknn.tools.bench.DropInBench [--url http://127.0.0.1:9200] [--docs 0=all] [--queries 200]
 *     [--k 10] [--size 10] [--rounds 3]</pre>
 *
 * Everything goes through the node's REST API as an application would: the model is fitted on the node, the index is
 * created with the k-NN plugin's {@code knn_vector} mapping under the opt-in setting, the documents are bulk-indexed
 * as plaintext arrays. Prints p50/p95 client latency and server {@code took}, the ratio, and recall@10 of both.
 */
public final class DropInBench {

    static final String MODEL = "bench-dropin";
    static final String INDEX = "bench-dropin";
    static final String PIPELINE = "bench-dropin-gateway";
    static final String FIELD = "vector_field";

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("DropInBench", args);
        String url = a.get("--url", "http://127.0.0.1:9200");
        int k = a.integer("--k", SearchBench.TOP);
        int size = a.integer("--size", SearchBench.TOP);
        int rounds = a.integer("--rounds", 3);
        SearchBench.Workload workload = SearchBench.Workload.load(a);
        float[][] vectors = workload.vectors();
        float[][] queries = workload.queries();
        int d = workload.dimension();
        OpenSearchHttp node = new OpenSearchHttp(url);

        if (node.exists("/" + INDEX)) {
            node.delete("/" + INDEX);
        }
        try {
            node.delete("/_plugins/encrypted_knn/models/" + MODEL);
        } catch (OpenSearchHttp.ResponseException e) {
            if (e.status() != 404) {
                throw e;
            }
        }
        ObjectNode model = OpenSearchHttp.JSON.createObjectNode();
        model.put("dimension", d)
                .put("space", "cosine")
                .put("prefix_dimension", d / 4)
                .put("cells", 64);
        model.set("training_vectors", vectors(Arrays.copyOf(vectors, Math.min(2000, vectors.length))));
        node.put("/_plugins/encrypted_knn/models/" + MODEL, model);

        // the application's own create-index request; the opt-in is the one setting
        node.put("/" + INDEX, OpenSearchHttp.JSON.readTree("""
                {"settings":{"index.encrypted_knn.model_id":"%s","number_of_shards":1,"number_of_replicas":0},
                 "mappings":{"properties":{"%s":{"type":"knn_vector","dimension":%d,
                   "method":{"name":"hnsw","engine":"lucene","space_type":"cosinesimil",
                             "parameters":{"m":16,"ef_construction":100}}}}}}""".formatted(MODEL, FIELD, d)));
        long start = System.nanoTime();
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < vectors.length; i++) {
            bulk.append("{\"index\":{\"_id\":\"")
                    .append(i)
                    .append("\"}}\n{\"")
                    .append(FIELD)
                    .append("\":")
                    .append(vectors(new float[][] {vectors[i]}).get(0))
                    .append("}\n");
            if ((i + 1) % 500 == 0 || i == vectors.length - 1) {
                JsonNode r = node.postNdjson("/" + INDEX + "/_bulk", bulk.toString());
                if (r.path("errors").asBoolean()) {
                    throw new IllegalStateException(
                            "bulk failed: " + r.toString().substring(0, 500));
                }
                bulk.setLength(0);
            }
        }
        node.post("/" + INDEX + "/_refresh", null);
        Indices.forceMerge(node, INDEX);
        System.out.printf(
                Locale.ROOT,
                "indexed %d plaintext vectors in %.1f s (drop-in ingest)%n",
                vectors.length,
                (System.nanoTime() - start) / 1e9);
        node.put("/_search/pipeline/" + PIPELINE, OpenSearchHttp.JSON.readTree("""
                {"request_processors":[{"encrypted_knn_query":{"model_id":"%s"}}],
                 "response_processors":[{"encrypted_knn_rerank":{"model_id":"%s"}}]}""".formatted(MODEL, MODEL)));

        int window = Math.max(k, calibratedWindow(node.get("/_plugins/encrypted_knn/models/" + MODEL), vectors.length));
        int[][] truth = SearchBench.exactTopK(vectors, queries, SearchBench.TOP);
        List<Double> knnMs = new ArrayList<>();
        List<Double> encMs = new ArrayList<>();
        List<Double> knnTook = new ArrayList<>();
        List<Double> encTook = new ArrayList<>();
        double knnRecall = 0;
        double encRecall = 0;
        int warmup = Math.min(20, queries.length);
        for (int round = 0; round < rounds; round++) {
            for (int q = 0; q < queries.length; q++) {
                String vector = vectors(new float[][] {queries[q]}).get(0).toString();
                String knn = "{\"size\":" + size + ",\"_source\":false,\"query\":{\"knn\":{\"" + FIELD
                        + "\":{\"vector\":" + vector + ",\"k\":" + k + "}}}}";
                String enc = "{\"size\":" + size + ",\"_source\":false,\"query\":{\"encrypted_knn\":{\"" + FIELD
                        + "\":{\"vector\":" + vector + ",\"k\":" + window + "}}}}";
                // alternate which goes first, so neither gets the warmer caches
                boolean knnFirst = (q & 1) == 0;
                for (int turn = 0; turn < 2; turn++) {
                    boolean isKnn = (turn == 0) == knnFirst;
                    long t0 = System.nanoTime();
                    JsonNode r = isKnn
                            ? node.post("/" + INDEX + "/_search", OpenSearchHttp.JSON.readTree(knn))
                            : node.post(
                                    "/" + INDEX + "/_search?search_pipeline=" + PIPELINE,
                                    OpenSearchHttp.JSON.readTree(enc));
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (round == 0 && q < warmup) {
                        continue;
                    }
                    List<String> ids = new ArrayList<>();
                    r.path("hits")
                            .path("hits")
                            .forEach(h -> ids.add(h.path("_id").asText()));
                    double recall = SearchBench.recall(ids, truth[q]);
                    (isKnn ? knnMs : encMs).add(ms);
                    (isKnn ? knnTook : encTook).add(r.path("took").asDouble());
                    if (isKnn) {
                        knnRecall += recall;
                    } else {
                        encRecall += recall;
                    }
                }
            }
        }
        int n = knnMs.size();
        System.out.printf(Locale.ROOT, "%n%-34s %14s %14s %9s%n", "metric", "encrypted_knn", "knn (drop-in)", "ratio");
        row("query latency p50 (ms)", percentile(encMs, 50), percentile(knnMs, 50));
        row("query latency p95 (ms)", percentile(encMs, 95), percentile(knnMs, 95));
        row("query latency mean (ms)", mean(encMs), mean(knnMs));
        row("server took p50 (ms)", percentile(encTook, 50), percentile(knnTook, 50));
        row("recall@10 (vs exact top-10)", encRecall / n, knnRecall / n);
        // the two searches of one query run back to back: their ratio cancels most of the load a shared machine adds
        double[] paired = new double[n];
        for (int i = 0; i < n; i++) {
            paired[i] = knnMs.get(i) / encMs.get(i);
        }
        System.out.printf(
                Locale.ROOT,
                "%-34s %14s %14s %9.3f%n",
                "paired ratio p50 (per query)",
                "",
                "",
                SearchBench.percentile(paired, 50));
        System.out.printf(
                Locale.ROOT,
                "%n%d measured queries each (%d rounds of %d, the first %d of round 1 as warm-up), knn k=%d,"
                        + " window %d (encrypted_knn k), size=%d, _source false, 1 shard, force-merged%n",
                n,
                rounds,
                queries.length,
                warmup,
                k,
                window,
                size);
    }

    /** The model's calibrated window for {@code documents} documents, from its public metadata. */
    private static int calibratedWindow(JsonNode modelResponse, long documents) {
        JsonNode c = modelResponse.path("model").path("calibration");
        if (c.isMissingNode()) {
            return WindowCalibration.FALLBACK_WINDOW;
        }
        return new WindowCalibration(
                        c.path("target_recall").asDouble(),
                        c.path("k").asInt(),
                        c.path("reference_size").asInt(),
                        c.path("queries").asInt(),
                        c.path("growth").asDouble(),
                        List.of())
                .windowFor(documents);
    }

    private static ArrayNode vectors(float[][] vs) {
        ArrayNode out = OpenSearchHttp.JSON.createArrayNode();
        for (float[] v : vs) {
            ArrayNode row = out.addArray();
            for (float f : v) {
                row.add(f);
            }
        }
        return out;
    }

    private static double percentile(List<Double> values, double p) {
        return SearchBench.percentile(
                values.stream().mapToDouble(Double::doubleValue).toArray(), p);
    }

    private static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    private static void row(String name, double enc, double knn) {
        System.out.printf(Locale.ROOT, "%-34s %14.3f %14.3f %9.3f%n", name, enc, knn, knn / enc);
    }
}
