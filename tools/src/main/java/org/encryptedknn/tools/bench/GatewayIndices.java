package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.transform.RecordForm;
import org.encryptedknn.transform.SearchMode;

/**
 * A gateway-mode set-up over the public REST API, as an application would make it: a model fitted on the node that
 * holds the key, the encrypting ingest pipeline, one search pipeline per search mode, encrypted indices whose default
 * pipeline encrypts, and plaintext opensearch-knn twins. Both kinds of index keep the full {@code _source} (the
 * default), and the queries of both ask for ids and scores only, so that sizes and latencies compare like with like.
 */
public final class GatewayIndices {

    public static final String FIELD = "embedding";
    static final String INGEST_PIPELINE = "-encrypt";
    static final int PROBE_CELLS = 8;

    private final OpenSearchHttp node;
    private final String modelId;
    private final PrefixLayout prefixLayout;
    private JsonNode model;

    /** A set-up whose model has the default prefix layout (augmented). */
    public GatewayIndices(OpenSearchHttp node, String modelId) {
        this(node, modelId, PrefixLayout.AUGMENTED);
    }

    /** A set-up whose model is fitted with {@code prefixLayout} (plain: as models fitted before augmentation). */
    public GatewayIndices(OpenSearchHttp node, String modelId, PrefixLayout prefixLayout) {
        this.node = node;
        this.modelId = modelId;
        this.prefixLayout = prefixLayout;
    }

    /**
     * Fits the model on the node from {@code training} (the documented defaults: cells, prefix dimension, beta), and puts
     * the ingest pipeline and a search pipeline for each mode in place. Returns the model's public metadata.
     */
    public JsonNode setUp(float[][] training, List<SearchMode> modes) {
        String path = "/_plugins/encrypted_knn/models/" + modelId;
        try {
            node.delete(path); // a model of an earlier run
        } catch (OpenSearchHttp.ResponseException e) {
            if (e.status() != 404) {
                throw e;
            }
        }
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("dimension", training[0].length);
        body.put("space", "cosine");
        body.put("prefix_layout", prefixLayout.wireName());
        ArrayNode vectors = body.putArray("training_vectors");
        for (float[] v : training) {
            vectors.add(Indices.floats(v));
        }
        long t0 = System.nanoTime();
        node.put(path, body);
        model = node.get(path).path("model");
        System.out.printf(
                Locale.ROOT,
                "model %s: fitted on the node from %d vectors in %.1f s: %s%n",
                modelId,
                training.length,
                SearchBench.seconds(t0),
                model);

        putIngestPipelines();
        for (SearchMode mode : modes) {
            ObjectNode search = OpenSearchHttp.JSON.createObjectNode();
            search.putArray("request_processors")
                    .addObject()
                    .putObject("encrypted_knn_query")
                    .put("model_id", modelId)
                    .put("probe_cells", PROBE_CELLS)
                    .put("mode", mode.wireName());
            search.putArray("response_processors")
                    .addObject()
                    .putObject("encrypted_knn_rerank")
                    .put("model_id", modelId)
                    .put("remove_vector", true);
            node.put("/_search/pipeline/" + searchPipeline(mode), search);
        }
        return model;
    }

    /** One encrypting ingest pipeline per record form ({@link #ingestPipeline}); putting them again changes nothing. */
    private void putIngestPipelines() {
        for (RecordForm form : RecordForm.values()) {
            ObjectNode encrypt = OpenSearchHttp.JSON.createObjectNode();
            encrypt.putArray("processors")
                    .addObject()
                    .putObject("encrypted_knn")
                    .put("model_id", modelId)
                    .put("field", FIELD)
                    .put("record_form", form.wireName());
            node.put("/_ingest/pipeline/" + ingestPipeline(form), encrypt);
        }
    }

    public String searchPipeline(SearchMode mode) {
        return modelId + "-" + mode.wireName();
    }

    /** The encrypting ingest pipeline that writes records of {@code form}. */
    public String ingestPipeline(RecordForm form) {
        return modelId + INGEST_PIPELINE + (form == RecordForm.KEYED ? "" : "-" + form.wireName());
    }

    /** An encrypted index written through the encrypting ingest pipeline of keyed records (its default pipeline). */
    public void createEncrypted(String index, int shards, int replicas) {
        createEncrypted(index, shards, replicas, RecordForm.KEYED);
    }

    /**
     * An encrypted index whose default pipeline writes records of {@code form}. Needs the model: {@link #setUp} or, for
     * a model of an earlier run, {@link #attach}.
     */
    public void createEncrypted(String index, int shards, int replicas, RecordForm form) {
        ObjectNode body =
                Indices.encryptedIndexBody(FIELD, ModelCodec.readMetadata(model.toString()), Indices.Hnsw.DEFAULT);
        shape((ObjectNode) body.get("settings"), shards, replicas).put("index.default_pipeline", ingestPipeline(form));
        Indices.recreate(node, index, body);
    }

    /**
     * Reads the public metadata of the model an earlier {@link #setUp} fitted on this node, and puts its ingest
     * pipelines (an earlier version of this tool put only the keyed one).
     */
    public void attach() {
        model = node.get("/_plugins/encrypted_knn/models/" + modelId).path("model");
        putIngestPipelines();
    }

    /** The plaintext opensearch-knn twin (Lucene HNSW, same m and ef_construction, cosine). */
    public void createPlain(String index, int dimension, int shards, int replicas) {
        ObjectNode body = Indices.plainIndexBody(FIELD, dimension, "cosinesimil", Indices.Hnsw.DEFAULT);
        shape((ObjectNode) body.get("settings"), shards, replicas);
        Indices.recreate(node, index, body);
    }

    private static ObjectNode shape(ObjectNode settings, int shards, int replicas) {
        return settings.put("number_of_shards", shards).put("number_of_replicas", replicas);
    }

    /** The application's document, the same for both kinds of index: the plaintext vector. */
    public static ObjectNode document(float[] vector) {
        ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
        doc.set(FIELD, Indices.floats(vector));
        return doc;
    }

    /** Bulk-loads documents "0".."n-1" (refresh and force-merge to one segment included in the rate). */
    public Indices.LoadResult load(String index, float[][] vectors, int n) {
        long start = System.nanoTime();
        int step = Math.max(Indices.BULK_BATCH, n / 10);
        // a line every tenth, so that a run stopped early still says how far it got
        Indices.LoadResult r = Indices.bulkLoad(node, index, n, i -> document(vectors[i]), (done, total) -> {
            if (done % step < Indices.BULK_BATCH && done < total) {
                System.out.printf(
                        Locale.ROOT,
                        "  %s: %d of %d sent, %.0f docs/s so far, load average %s%n",
                        index,
                        done,
                        total,
                        done / SearchBench.seconds(start),
                        LoadAverage.read());
            }
        });
        System.out.printf(
                Locale.ROOT,
                "indexed %d docs into %s: %.0f docs/s (refresh + force-merge included), %.2f MB; load average %s%n",
                r.documents(),
                index,
                r.docsPerSecond(),
                r.storeBytes() / 1e6,
                LoadAverage.read());
        return r;
    }

    /** Body of a top-10 plaintext k-NN query with {@code k} candidates, ids and scores only. */
    public static ObjectNode plainQuery(float[] vector, int k) {
        return topTen("knn", vector, k);
    }

    /** Body of a top-10 query through a search pipeline: the plaintext vector in, ids and exact scores out. */
    public static ObjectNode encryptedQuery(float[] vector, int k) {
        return topTen("encrypted_knn", vector, k);
    }

    private static ObjectNode topTen(String queryType, float[] vector, int k) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", ScaleWorkload.TOP);
        body.put("_source", false);
        ObjectNode params = body.putObject("query").putObject(queryType).putObject(FIELD);
        params.set("vector", Indices.floats(vector));
        params.put("k", k);
        return body;
    }

    /** The ids and scores of a search response, in order. */
    public static List<QueryLoad.Hit> hits(JsonNode response) {
        List<QueryLoad.Hit> hits = new ArrayList<>();
        for (JsonNode h : response.path("hits").path("hits")) {
            hits.add(new QueryLoad.Hit(h.path("_id").asText(), h.path("_score").asDouble()));
        }
        return hits;
    }
}
