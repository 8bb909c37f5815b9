package org.encryptedknn.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.encryptedknn.shard.EncryptedQuery;
import org.encryptedknn.shard.EncryptedVector;
import org.encryptedknn.shard.ShardTransform;

import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Key-holder side of one encrypted search in keyed mode: builds the request body (stage-1 encrypted
 * prefix query + keyed rescore with the residual queries of chosen cells) and turns the response into
 * the exact ranking. HTTP-client agnostic: bodies are Jackson trees.
 *
 * <p>The data node scores a hit as ⟨prefix/s², p_i⟩ + ⟨H_c r_q, z_i⟩: the first term is only an
 * approximation (it cannot remove the SAP noise), the second is exact. The key holder replaces the
 * approximation with the exact prefix term ⟨u_q, u_i⟩ by decrypting p_i with its nonce, and computes
 * the residual term itself for hits whose cell was not sent.
 */
public final class EncryptedSearch {

    /** One hit with its exact plaintext similarity. */
    public record ExactHit(String id, double score, int cell, JsonNode source) {}

    private final ShardTransform transform;
    private final String field;
    private final EncryptedQuery query;
    private final float[] scaledPrefix;
    private final Map<Integer, float[]> cellQueries = new LinkedHashMap<>();

    public EncryptedSearch(ShardTransform transform, String field, float[] vector) {
        this(transform, field, transform.encryptQuery(vector));
    }

    /** A search reusing an already encrypted query (e.g. a follow-up for other cells). */
    public EncryptedSearch(ShardTransform transform, String field, EncryptedQuery query) {
        this.transform = transform;
        this.field = field;
        this.query = query;
        double s2 = transform.sap().scale() * transform.sap().scale();
        float[] p = query.prefix();
        this.scaledPrefix = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            scaledPrefix[i] = (float) (p[i] / s2);
        }
    }

    public EncryptedQuery query() {
        return query;
    }

    public ShardTransform transform() {
        return transform;
    }

    public String field() {
        return field;
    }

    /** The keyed residual queries H_c r_q of the chosen cells, in the order they were added (read-only use). */
    Map<Integer, float[]> cellQueries() {
        return cellQueries;
    }

    /** The cells whose residual queries will be sent (e.g. {@link ShardTransform#probeCells}). */
    public EncryptedSearch withCells(int... cells) {
        for (int c : cells) {
            cellQueries.computeIfAbsent(c, cell -> transform.keyedResidualQuery(query, cell));
        }
        return this;
    }

    /** Stage 1 only: HNSW over the encrypted prefix, no rescore (used to learn the candidates' cells). */
    public ObjectNode stageOneBody(int k, int size) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", size);
        body.set("query", knnQuery(k));
        return body;
    }

    /** Stage 1 + keyed rescore of the window with the residual queries of the chosen cells. */
    public ObjectNode keyedBody(int k, int window, int size) {
        ObjectNode body = stageOneBody(k, size);
        ObjectNode cells = rescoreQuery(body, window, "keyed").putObject("cells");
        cellQueries.forEach((c, z) -> cells.put(Integer.toString(c), EncryptedVector.encodeFloats(z)));
        return body;
    }

    /** Adds {@code "rescore":{"window_size":…,"encrypted_knn":{"field":…,"mode":…,"query":{"prefix":[…]}}}}; returns the query. */
    ObjectNode rescoreQuery(ObjectNode body, int window, String mode) {
        ObjectNode rescore = body.putObject("rescore");
        rescore.put("window_size", window);
        ObjectNode spec = rescore.putObject("encrypted_knn");
        spec.put("field", field);
        spec.put("mode", mode);
        ObjectNode q = spec.putObject("query");
        ArrayNode prefix = q.putArray("prefix");
        for (float v : scaledPrefix) {
            prefix.add(v);
        }
        return q;
    }

    private ObjectNode knnQuery(int k) {
        ObjectNode root = OpenSearchHttp.JSON.createObjectNode();
        ObjectNode params = root.putObject("encrypted_knn").putObject(field);
        ArrayNode vector = params.putArray("encrypted_vector");
        for (float v : query.prefix()) {
            vector.add(v);
        }
        params.put("k", k);
        params.put("model_id", query.modelId());
        params.put("epoch", query.epoch());
        return root;
    }

    /** Exact scores for every hit of a response (decrypts each prefix), best first. */
    public List<ExactHit> exactRanking(JsonNode response) {
        List<ExactHit> hits = new ArrayList<>();
        // H_c r_q once per cell, not once per hit: the window holds many hits of few cells.
        Map<Integer, float[]> keyedQueries = new HashMap<>(cellQueries);
        for (JsonNode hit : response.path("hits").path("hits")) {
            JsonNode source = hit.path("_source");
            EncryptedVector v = parseRecord(source.path(field));
            float[] keyedQuery = keyedQueries.computeIfAbsent(v.cell(), cell -> transform.keyedResidualQuery(query, cell));
            double score = transform.prefixScore(query, v) + ShardTransform.residualScore(keyedQuery, v);
            hits.add(new ExactHit(hit.path("_id").asText(), score, v.cell(), source));
        }
        hits.sort(Comparator.comparingDouble(ExactHit::score).reversed());
        return hits;
    }

    /** The stored record form of a hit's field, as returned in {@code _source}. */
    public static EncryptedVector parseRecord(JsonNode node) {
        return parseRecord(node, EncryptedVector.decodeFloats(node.path(EncryptedVector.KEYED_RESIDUAL).asText()));
    }

    /** The record form of a hit's field with {@code keyedResidual} in place of the stored {@code z}. */
    static EncryptedVector parseRecord(JsonNode node, float[] keyedResidual) {
        JsonNode p = node.path(EncryptedVector.PREFIX);
        float[] prefix = new float[p.size()];
        for (int i = 0; i < prefix.length; i++) {
            prefix[i] = (float) p.get(i).asDouble();
        }
        return new EncryptedVector(
            prefix,
            Base64.getDecoder().decode(node.path(EncryptedVector.NONCE).asText()),
            node.path(EncryptedVector.CELL).asInt(),
            keyedResidual,
            node.path(EncryptedVector.EPOCH).asInt()
        );
    }

    /** The document form of an encrypted vector, as indexed. */
    public static ObjectNode recordJson(EncryptedVector v) {
        ObjectNode node = OpenSearchHttp.JSON.createObjectNode();
        ArrayNode p = node.putArray(EncryptedVector.PREFIX);
        for (float f : v.prefix()) {
            p.add(f);
        }
        node.put(EncryptedVector.NONCE, Base64.getEncoder().encodeToString(v.nonce()));
        node.put(EncryptedVector.CELL, v.cell());
        node.put(EncryptedVector.KEYED_RESIDUAL, EncryptedVector.encodeFloats(v.keyedResidual()));
        node.put(EncryptedVector.EPOCH, v.epoch());
        return node;
    }
}
