package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.tools.demo.Demo;
import org.encryptedknn.transform.VectorTransform;

/**
 * What the reliability scenarios share: the gateway-mode set-up of the demo ({@link Demo}: model fitted on the node
 * through the models API, {@code encrypted_knn} ingest pipeline as the index's default pipeline with an encrypted
 * subject, search pipeline), the SpamAssassin MiniLM corpus split into indexed documents (ids "0".."n-1") and held-out
 * queries, and the check of search-pipeline scores against the plaintext cosine computed here.
 */
final class GatewayScenario {

    /** Decrypted scores must match the plaintext cosine to this (docs/design.md §3). */
    static final double SCORE_TOLERANCE = 1e-4;

    /** One hit of the search pipeline: id and the exact score the gateway computed. */
    record Hit(String id, double score) {}

    final OpenSearchHttp node;
    final EmbeddedCorpus docs;
    final EmbeddedCorpus queries;

    GatewayScenario(String url, int docCount, int queryCount) {
        this.node = new OpenSearchHttp(url);
        EmbeddedCorpus corpus = EmbeddedCorpus.load(docCount + queryCount);
        if (corpus.size() < docCount + queryCount) {
            throw new IllegalArgumentException(
                    "the corpus has " + corpus.size() + " messages, fewer than " + docCount + " + " + queryCount);
        }
        EmbeddedCorpus.Split split = corpus.split(docCount, queryCount);
        this.docs = split.index();
        this.queries = split.queries();
        System.out.printf(
                Locale.ROOT,
                "corpus: SpamAssassin, MiniLM %d-d: %d documents, %d held-out queries%n",
                docs.dimension(),
                docs.size(),
                queries.size());
    }

    /** From the options {@code --url}, {@code --docs} and {@code --queries}, with the scenario's defaults. */
    static GatewayScenario fromArgs(Options a, int port, int docCount, int queryCount) {
        return new GatewayScenario(
                a.get("--url", "http://127.0.0.1:" + port),
                a.integer("--docs", docCount),
                a.integer("--queries", queryCount));
    }

    /** Model (created unless it exists), pipelines and a fresh {@code index} with the given refresh interval. */
    void createIndex(String index, String refreshInterval) {
        Demo.ensureModel(node, docs.vectors());
        Demo.ensurePipelines(node);
        ObjectNode body = Demo.encryptedIndexBody(model());
        ((ObjectNode) body.get("settings")).put("refresh_interval", refreshInterval);
        Indices.recreate(node, index, body);
    }

    /** All documents through the default (encrypting) pipeline, in bulks of {@link Indices#BULK_BATCH}. */
    void loadAll(String index) {
        Indices.LoadResult r =
                Indices.bulkLoad(node, index, docs.size(), this::document, Indices.ProgressListener.NONE);
        System.out.printf(
                Locale.ROOT,
                "%s: %d documents through the ingest pipeline, %.0f docs/s%n",
                index,
                r.documents(),
                r.docsPerSecond());
    }

    /** The application's document i: plain vector and subject. */
    ObjectNode document(int i) {
        return Demo.document(docs.vectors()[i], docs.messages().get(i));
    }

    /** The model's public metadata (GET needs no key). */
    JsonNode model() {
        return node.get("/_plugins/encrypted_knn/models/" + Demo.MODEL_ID).path("model");
    }

    /** The width of the model's stored prefix p, the HNSW vector (its public metadata; plain for older formats). */
    static int prefixWidth(JsonNode model) {
        return PrefixLayout.parse(model.path("prefix_layout").asText("plain"), "prefix_layout")
                .width(model.path("prefix_dimension").asInt());
    }

    /** Top {@code size} through the search pipeline (plain vector in, exact scores out). */
    List<Hit> search(String index, float[] vector, int size) {
        return hits(Demo.encryptedSearch(node, index, vector, size));
    }

    /** {@link #search(String, float[], int)} with {@code k} stage-1 candidates. */
    List<Hit> search(String index, float[] vector, int k, int size) {
        return hits(Demo.encryptedSearch(node, index, vector, k, size));
    }

    private static List<Hit> hits(JsonNode response) {
        List<Hit> hits = new ArrayList<>();
        for (JsonNode h : response) {
            hits.add(new Hit(h.path("_id").asText(), h.path("_score").asDouble()));
        }
        return hits;
    }

    /** Largest |gateway score − plaintext cosine of the query and the hit's document| over the hits. */
    double maxScoreError(List<Hit> hits, float[] query) {
        double worst = 0;
        for (Hit h : hits) {
            float[] doc = docs.vectors()[Integer.parseInt(h.id())];
            worst = Math.max(worst, Math.abs(h.score() - VectorTransform.similarity(query, doc, Space.COSINE)));
        }
        return worst;
    }

    /** Waits for the index to be green (single node, no replica) and returns the wait in seconds. */
    double waitGreen(String index, int timeoutSeconds) {
        long t0 = System.nanoTime();
        JsonNode health =
                node.get("/_cluster/health/" + index + "?wait_for_status=green&timeout=" + timeoutSeconds + "s");
        if (!health.path("status").asText().equals("green")) {
            throw new IllegalStateException(index + " is not green after " + timeoutSeconds + " s: " + health);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The {@code error.reason} of an OpenSearch error body (the body itself if it has none). */
    static String errorReason(String errorBody) {
        try {
            return OpenSearchHttp.JSON
                    .readTree(errorBody)
                    .path("error")
                    .path("reason")
                    .asText(errorBody);
        } catch (IOException e) {
            return errorBody;
        }
    }

    static String verdict(boolean ok) {
        return ok ? "ok" : "FAILED";
    }
}
