package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;

/**
 * What drop-in compatibility costs at search time (issue 16: at most 5 %). One encrypted index, opted in with
 * {@code index.encrypted_knn.model_id} and loaded with plaintext vectors, is searched in the same run two ways with
 * the same query vectors and the same candidate count k: the k-NN plugin's {@code knn} query, which the coordinating
 * node translates, and the {@code encrypted_knn} query through a search pipeline of {@code encrypted_knn_query} and
 * {@code encrypted_knn_rerank} (gateway mode, docs/gateway-mode.md). The two alternate query by query, in an order
 * that flips each round; the first round warms up and is not counted. Prints p50, p90 and mean latency of each, their
 * ratios, and how often both return the same top 10. Needs a node whose keystore holds the master key.
 *
 * <pre>java … org.encryptedknn.tools.bench.DropInBench [--url http://127.0.0.1:9200] [--docs 0=all] [--queries 200]
 *     [--k 100] [--rounds 4] [--cells 64]</pre>
 */
public final class DropInBench {
    static final String INDEX = "bench-dropin";
    static final String MODEL = "bench-dropin";
    static final String PIPELINE = "bench-dropin-search";
    static final String FIELD = SearchBench.FIELD;

    private DropInBench() {}

    public static void main(String[] args) {
        Options a = Options.lenient("DropInBench", args);
        OpenSearchHttp node = new OpenSearchHttp(a.get("--url", "http://127.0.0.1:9200"));
        int k = a.integer("--k", 100);
        int rounds = a.integer("--rounds", 4);
        int cells = a.integer("--cells", 64);
        SearchBench.Workload workload = SearchBench.Workload.load(a);
        float[][] vectors = workload.vectors();
        float[][] queries = workload.queries();

        // The operator: a model fitted on the node, an opted-in index, and the gateway search pipeline.
        if (node.exists("/" + INDEX)) {
            node.delete("/" + INDEX); // an index of an earlier run, under the model replaced below
        }
        try {
            node.delete("/_plugins/encrypted_knn/models/" + MODEL);
        } catch (OpenSearchHttp.ResponseException e) {
            if (e.status() != 404) {
                throw e;
            }
        }
        ObjectNode model = OpenSearchHttp.JSON.createObjectNode();
        model.put("dimension", workload.dimension()).put("space", "cosine").put("cells", cells);
        var training = model.putArray("training_vectors");
        Arrays.stream(vectors, 0, Math.min(2000, vectors.length)).forEach(v -> training.add(Indices.floats(v)));
        node.put("/_plugins/encrypted_knn/models/" + MODEL, model);
        ObjectNode pipeline = OpenSearchHttp.JSON.createObjectNode();
        pipeline.putArray("request_processors")
                .addObject()
                .putObject("encrypted_knn_query")
                .put("model_id", MODEL);
        pipeline.putArray("response_processors")
                .addObject()
                .putObject("encrypted_knn_rerank")
                .put("model_id", MODEL)
                .put("remove_vector", true);
        node.put("/_search/pipeline/" + PIPELINE, pipeline);
        ObjectNode body = Indices.plainIndexBody(FIELD, workload.dimension(), "cosinesimil", Indices.Hnsw.DEFAULT);
        ((ObjectNode) body.get("settings")).put("index.encrypted_knn.model_id", MODEL);
        Indices.recreate(node, INDEX, body);
        Indices.LoadResult load =
                Indices.bulkLoad(node, INDEX, vectors.length, i -> document(vectors[i]), (d, t) -> {});
        System.out.printf(
                Locale.ROOT,
                "index: %d plaintext vectors through drop-in encryption, %.0f docs/s%n",
                load.documents(),
                load.docsPerSecond());

        List<Double> knn = new ArrayList<>();
        List<Double> encrypted = new ArrayList<>();
        int sameTop = 0;
        for (int round = 0; round < rounds; round++) {
            for (float[] q : queries) {
                boolean knnFirst = round % 2 == 0;
                Timed first = knnFirst ? knn(node, q, k) : encryptedKnn(node, q, k);
                Timed second = knnFirst ? encryptedKnn(node, q, k) : knn(node, q, k);
                if (round == 0) {
                    sameTop += first.ids.equals(second.ids) ? 1 : 0;
                    continue; // warm-up
                }
                (knnFirst ? knn : encrypted).add(first.millis);
                (knnFirst ? encrypted : knn).add(second.millis);
            }
        }
        double[] a1 = knn.stream().mapToDouble(Double::doubleValue).toArray();
        double[] a2 = encrypted.stream().mapToDouble(Double::doubleValue).toArray();
        System.out.printf(
                Locale.ROOT,
                "%d queries x %d timed rounds, k=%d, size=%d%n",
                queries.length,
                rounds - 1,
                k,
                SearchBench.TOP);
        row("knn (drop-in)", a1);
        row("encrypted_knn + pipeline", a2);
        System.out.printf(
                Locale.ROOT,
                "ratio knn / encrypted_knn: p50 %.3f, p90 %.3f, mean %.3f  (overhead %+.1f %% at p50)%n",
                SearchBench.percentile(a1, 50) / SearchBench.percentile(a2, 50),
                SearchBench.percentile(a1, 90) / SearchBench.percentile(a2, 90),
                mean(a1) / mean(a2),
                100 * (SearchBench.percentile(a1, 50) / SearchBench.percentile(a2, 50) - 1));
        System.out.printf(
                Locale.ROOT, "same top %d from both: %d of %d queries%n", SearchBench.TOP, sameTop, queries.length);
    }

    private record Timed(double millis, List<String> ids) {}

    private static Timed knn(OpenSearchHttp node, float[] q, int k) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", SearchBench.TOP);
        body.putObject("_source").putArray("excludes").add(FIELD);
        ObjectNode knn = body.putObject("query").putObject("knn").putObject(FIELD);
        knn.set("vector", Indices.floats(q));
        knn.put("k", k);
        return timed(node, "/" + INDEX + "/_search", body);
    }

    private static Timed encryptedKnn(OpenSearchHttp node, float[] q, int k) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", SearchBench.TOP);
        ObjectNode query = body.putObject("query").putObject("encrypted_knn").putObject(FIELD);
        query.set("vector", Indices.floats(q));
        query.put("k", k);
        return timed(node, "/" + INDEX + "/_search?search_pipeline=" + PIPELINE, body);
    }

    private static Timed timed(OpenSearchHttp node, String path, ObjectNode body) {
        long start = System.nanoTime();
        JsonNode hits = node.post(path, body).path("hits").path("hits");
        double millis = (System.nanoTime() - start) / 1e6;
        List<String> ids = new ArrayList<>();
        hits.forEach(h -> ids.add(h.path("_id").asText()));
        return new Timed(millis, ids);
    }

    private static ObjectNode document(float[] v) {
        ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
        doc.set(FIELD, Indices.floats(v));
        return doc;
    }

    private static void row(String label, double[] millis) {
        System.out.printf(
                Locale.ROOT,
                "%-26s p50 %7.2f ms  p90 %7.2f ms  mean %7.2f ms%n",
                label,
                SearchBench.percentile(millis, 50),
                SearchBench.percentile(millis, 90),
                mean(millis));
    }

    private static double mean(double[] values) {
        return Arrays.stream(values).average().orElse(Double.NaN);
    }
}
