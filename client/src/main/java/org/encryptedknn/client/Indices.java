package org.encryptedknn.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.IntFunction;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.model.ModelParameters;

/**
 * Index set-up over REST: the encrypted index and its plaintext opensearch-knn twin (the baseline),
 * and bulk loading. Used by the CLI, the demo and the benchmarks.
 */
public final class Indices {

    /** HNSW parameters shared by the encrypted index and the plaintext baseline. */
    public record Hnsw(int m, int efConstruction) {
        public static final Hnsw DEFAULT = new Hnsw(16, 100);
    }

    /** What a bulk load measured: documents per second including refresh and force-merge, bytes on disk. */
    public record LoadResult(int documents, double docsPerSecond, long storeBytes) {}

    public static final int BULK_BATCH = 500;

    private Indices() {}

    /** Index settings: one shard, no replica, no refresh during the load; {@code index.encrypted_knn} or {@code index.knn}. */
    public static ObjectNode settings(boolean encrypted) {
        ObjectNode settings = OpenSearchHttp.JSON.createObjectNode();
        settings.put("number_of_shards", 1);
        settings.put("number_of_replicas", 0);
        settings.put("refresh_interval", "-1");
        settings.put(encrypted ? "index.encrypted_knn" : "index.knn", true);
        return settings;
    }

    /**
     * Body of a create-index request for an {@code encrypted_knn_vector} field of {@code model} (its public metadata);
     * add more properties to the result.
     */
    public static ObjectNode encryptedIndexBody(String field, ModelMetadata model, Hnsw hnsw) {
        ModelParameters params = model.parameters();
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.set("settings", settings(true));
        ObjectNode mapping = properties(body).putObject(field);
        mapping.put("type", "encrypted_knn_vector");
        mapping.put("model_id", model.id());
        mapping.put("dimension", params.dimension());
        mapping.put("prefix_dimension", params.prefixDimension());
        mapping.put("prefix_layout", model.prefixLayout().wireName()); // the HNSW width: d_pub, or d_pub + 1
        mapping.put("cells", params.cells());
        if (model.residualNorm() > 0) { // the mapper's bound on z (models fitted before padding: its default 1)
            mapping.put("residual_norm", model.residualNorm());
        }
        mapping.putObject("method").put("m", hnsw.m()).put("ef_construction", hnsw.efConstruction());
        return body;
    }

    /** Body of a create-index request for the plaintext baseline: a Lucene-engine {@code knn_vector}. */
    public static ObjectNode plainIndexBody(String field, int dimension, String spaceType, Hnsw hnsw) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.set("settings", settings(false));
        ObjectNode mapping = properties(body).putObject(field);
        mapping.put("type", "knn_vector");
        mapping.put("dimension", dimension);
        ObjectNode method = mapping.putObject("method");
        method.put("name", "hnsw");
        method.put("engine", "lucene");
        method.put("space_type", spaceType);
        method.putObject("parameters").put("m", hnsw.m()).put("ef_construction", hnsw.efConstruction());
        return body;
    }

    /** The {@code mappings.properties} object of a create-index body. */
    public static ObjectNode properties(ObjectNode body) {
        ObjectNode mappings = body.has("mappings") ? (ObjectNode) body.get("mappings") : body.putObject("mappings");
        return mappings.has("properties") ? (ObjectNode) mappings.get("properties") : mappings.putObject("properties");
    }

    /** Deletes the index if it exists, then creates it. */
    public static void recreate(OpenSearchHttp node, String index, ObjectNode body) {
        if (node.exists("/" + index)) {
            node.delete("/" + index);
        }
        node.put("/" + index, body);
    }

    /** Document count, or -1 if the index does not exist. */
    public static long count(OpenSearchHttp node, String index) {
        if (!node.exists("/" + index)) {
            return -1;
        }
        node.post("/" + index + "/_refresh", null);
        return node.get("/" + index + "/_count").path("count").asLong();
    }

    /** A JSON array of floats. */
    public static ArrayNode floats(float[] values) {
        ArrayNode array = OpenSearchHttp.JSON.createArrayNode();
        for (float v : values) {
            array.add(v);
        }
        return array;
    }

    /**
     * Bulk-loads documents 0..count-1 with ids "0".."count-1" in batches, then refreshes and
     * force-merges to one segment. Fails on the first rejected document.
     */
    public static LoadResult bulkLoad(
            OpenSearchHttp node,
            String index,
            int count,
            IntFunction<ObjectNode> documents,
            ProgressListener progress) {
        long start = System.nanoTime();
        StringBuilder ndjson = new StringBuilder();
        for (int i = 0; i < count; i++) {
            ndjson.append("{\"index\":{\"_index\":\"")
                    .append(index)
                    .append("\",\"_id\":\"")
                    .append(i)
                    .append("\"}}\n");
            ndjson.append(documents.apply(i).toString()).append('\n');
            if ((i + 1) % BULK_BATCH == 0 || i == count - 1) {
                JsonNode r = node.postNdjson("/_bulk", ndjson.toString());
                if (r.path("errors").asBoolean()) {
                    throw new IllegalStateException("bulk load into " + index + " was refused: " + firstError(r));
                }
                ndjson.setLength(0);
                progress.advance(i + 1, count);
            }
        }
        node.post("/" + index + "/_refresh", null);
        forceMerge(node, index);
        node.post("/" + index + "/_refresh", null);
        double docsPerSecond = count / ((System.nanoTime() - start) / 1e9);
        return new LoadResult(count, docsPerSecond, storeBytes(node, index));
    }

    /**
     * Force-merges to one segment and waits for the merge as a task: merging 10^6 vectors' HNSW graph takes longer than
     * any HTTP timeout, and a request that times out leaves the caller unsure whether it finished.
     */
    public static void forceMerge(OpenSearchHttp node, String index) {
        String task = node.post("/" + index + "/_forcemerge?max_num_segments=1&wait_for_completion=false", null)
                .path("task")
                .asText();
        while (true) {
            JsonNode status = node.get("/_tasks/" + task);
            if (status.path("completed").asBoolean()) {
                if (status.has("error")) {
                    throw new IllegalStateException("force-merge of " + index + " failed: " + status.path("error"));
                }
                return;
            }
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while " + index + " was force-merged", e);
            }
        }
    }

    /** Primary store size in bytes. */
    public static long storeBytes(OpenSearchHttp node, String index) {
        return node.get("/" + index + "/_stats/store")
                .path("indices")
                .path(index)
                .path("primaries")
                .path("store")
                .path("size_in_bytes")
                .asLong();
    }

    /** Receives bulk progress (documents done, total). */
    public interface ProgressListener {
        ProgressListener NONE = (done, total) -> {};

        void advance(int done, int total);
    }

    private static String firstError(JsonNode bulkResponse) {
        for (JsonNode item : bulkResponse.path("items")) {
            JsonNode error = item.elements().next().path("error");
            if (!error.isMissingNode()) {
                return error.toString();
            }
        }
        return "(no error detail)";
    }
}
