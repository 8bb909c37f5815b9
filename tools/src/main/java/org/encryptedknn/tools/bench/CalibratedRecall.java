package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.encryptedknn.client.ExactSearch;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.corpus.Encoder;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.model.WindowCalibration;
import org.encryptedknn.transform.SearchMode;

/**
 * Recall@10 of the gateway's default search with the model's calibrated window, per encoder, on one running node
 * whose keystore holds a master key (docs/performance.md, "The default window"). For each encoder: the SpamAssassin
 * corpus embedded with it, the last {@code --queries} messages held out; a model fitted by the node from the first
 * {@code --training} documents with every fit parameter at its default (the body is the dimension and the vectors);
 * documents indexed through an {@code encrypted_knn} ingest pipeline; each held-out query sent as a plain vector
 * through an {@code encrypted_knn_query} / {@code encrypted_knn_rerank} search pipeline <b>without {@code k}</b>, so
 * the window is the model's calibrated one for the index's size, and with each {@code --k} as the request's {@code k}.
 * Recall against exact brute force. With {@code --prefix-layouts augmented,plain} each encoder gets one model, index and
 * row per prefix layout (docs/security.md "Prefix augmentation: built"), in the same run on the same node.
 *
 * <pre>java … org.encryptedknn.tools.bench.CalibratedRecall --url http://127.0.0.1:9200
 *     [--encoders all-minilm-l6-v2,e5-small-v2-q] [--limit 0=all] [--queries 200] [--training 2000]
 *     [--prefix-layouts augmented] [--k 50,100]</pre>
 */
public final class CalibratedRecall {

    static final String FIELD = SearchBench.FIELD;

    public static void main(String[] args) {
        Options a = Options.lenient("CalibratedRecall", args);
        OpenSearchHttp node = new OpenSearchHttp(a.get("--url", "http://127.0.0.1:9200"));
        List<String> encoders = a.list("--encoders").isEmpty()
                ? Arrays.stream(Encoder.values()).map(Encoder::wireName).toList()
                : a.list("--encoders");
        int limit = a.integer("--limit", 0);
        int queryCount = a.integer("--queries", 200);
        int training = a.integer("--training", 2000);
        List<PrefixLayout> layouts = (a.list("--prefix-layouts").isEmpty()
                        ? List.of(PrefixLayout.AUGMENTED.wireName())
                        : a.list("--prefix-layouts"))
                .stream().map(l -> PrefixLayout.parse(l, "--prefix-layouts")).toList();
        int[] ks = a.list("--k").stream().mapToInt(Integer::parseInt).toArray();
        List<String> rows = new ArrayList<>();
        for (String name : encoders) {
            for (PrefixLayout layout : layouts) {
                rows.add(run(node, Encoder.parse(name), layout, limit, queryCount, training, ks));
            }
        }
        StringBuilder fixed = new StringBuilder();
        for (int k : ks) {
            fixed.append(String.format(Locale.ROOT, " %11s", "recall k=" + k));
        }
        System.out.printf(
                Locale.ROOT,
                "%n%-18s %-9s %6s %8s %10s %9s %8s %12s %14s %10s%s%n",
                "encoder",
                "prefix",
                "docs",
                "queries",
                "beta_scale",
                "k(model)",
                "k(index)",
                "target",
                "recall@10 node",
                "p50 ms",
                fixed);
        rows.forEach(System.out::println);
    }

    private static String run(
            OpenSearchHttp node,
            Encoder encoder,
            PrefixLayout layout,
            int limit,
            int queryCount,
            int training,
            int[] ks) {
        EmbeddedCorpus corpus = EmbeddedCorpus.load(encoder, limit);
        EmbeddedCorpus.Split split = corpus.split(corpus.size() - queryCount, queryCount);
        float[][] docs = split.index().vectors();
        float[][] queries = split.queries().vectors();
        String id = "calibrated-" + encoder.wireName() + "-" + layout.wireName();
        System.out.printf(
                Locale.ROOT,
                "%n%s: %d documents, %d held-out queries; fitting model %s on the node from %d of them%n",
                encoder.wireName(),
                docs.length,
                queries.length,
                id,
                Math.min(training, docs.length));

        // the gateway set-up of the benchmarks: the model fitted on the node with every parameter but the dimension
        // at its default, the encrypting pipeline, the key_holder search pipeline, the index
        GatewayIndices gateway = new GatewayIndices(node, id, layout);
        JsonNode model =
                gateway.setUp(Arrays.copyOf(docs, Math.min(training, docs.length)), List.of(SearchMode.KEY_HOLDER));
        ModelMetadata meta = ModelCodec.readMetadata(model.toString());
        gateway.createEncrypted(id, 1, 0);
        Indices.LoadResult loaded = Indices.bulkLoad(
                node, id, docs.length, i -> SearchBench.vectorDocument(docs[i]), Indices.ProgressListener.NONE);
        System.out.printf(
                Locale.ROOT,
                "indexed %d documents through the encrypting pipeline (%.0f docs/s)%n",
                loaded.documents(),
                loaded.docsPerSecond());

        double recall = 0;
        double[] fixedRecall = new double[ks.length];
        double[] millis = new double[queries.length];
        String path = "/" + id + "/_search?search_pipeline=" + gateway.searchPipeline(SearchMode.KEY_HOLDER);
        for (int q = 0; q < queries.length; q++) {
            List<String> exact = ExactSearch.topKIds(queries[q], docs, 10, Space.COSINE);
            long t0 = System.nanoTime();
            JsonNode hits = node.post(path, searchBody(queries[q], 0));
            millis[q] = (System.nanoTime() - t0) / 1e6;
            recall += found(hits, exact) / 10.0;
            for (int i = 0; i < ks.length; i++) {
                fixedRecall[i] += found(node.post(path, searchBody(queries[q], ks[i])), exact) / 10.0;
            }
        }
        Arrays.sort(millis);
        StringBuilder fixed = new StringBuilder();
        for (double r : fixedRecall) {
            fixed.append(String.format(Locale.ROOT, " %11.3f", r / queries.length));
        }
        WindowCalibration c = meta.calibration();
        int window = meta.defaultWindow(docs.length);
        return String.format(
                Locale.ROOT,
                "%-18s %-9s %6d %8d %10.4f %9s %8d %12s %14.3f %10.1f%s",
                encoder.wireName(),
                layout.wireName(),
                docs.length,
                queries.length,
                meta.betaScale(),
                c == null ? "none" : Integer.toString(c.window()),
                window,
                c == null ? "-" : String.format(Locale.ROOT, "%.2f", c.target()),
                recall / queries.length,
                millis[millis.length / 2],
                fixed);
    }

    /** The query as a plain vector through the search pipeline, ids only; {@code k} 0: none (the model's window). */
    private static ObjectNode searchBody(float[] query, int k) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", 10);
        body.put("_source", false);
        ObjectNode knn = body.putObject("query").putObject("encrypted_knn").putObject(FIELD);
        knn.set("vector", Indices.floats(query));
        if (k > 0) {
            knn.put("k", k);
        }
        return body;
    }

    /** How many of the hits are among the exact top 10. */
    private static int found(JsonNode response, List<String> exact) {
        int found = 0;
        for (JsonNode h : response.path("hits").path("hits")) {
            found += exact.contains(h.path("_id").asText()) ? 1 : 0;
        }
        return found;
    }
}
