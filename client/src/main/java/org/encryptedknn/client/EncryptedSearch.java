package org.encryptedknn.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.VectorTransform;

/**
 * Key-holder side of one encrypted search in the {@code key_holder} (default) and
 * {@code keyed_leaks_query_residuals} modes ({@link org.encryptedknn.transform.SearchMode}): builds the request body
 * and turns the response into the exact ranking. HTTP-client agnostic: bodies are Jackson trees.
 *
 * <p>{@link #keyHolderBody}: the stage-1 encrypted prefix query only; the data node learns nothing of the query but
 * p_q and returns the candidates' records, which {@link #exactRanking} scores here (prefix term by SAP decryption,
 * residual term from each record's z).
 *
 * <p>{@link #keyedBody} adds a keyed rescore with the residual queries of chosen cells, which the data node sees. It
 * scores a hit as ⟨prefix/s², p_i⟩ + ⟨H_c r_q, z_i⟩: the first term is only an
 * approximation (it cannot remove the SAP noise), the second is exact. The key holder replaces the
 * approximation with the exact prefix term ⟨u_q, u_i⟩ by decrypting p_i with its nonce, and computes
 * the residual term itself for hits whose cell was not sent.
 *
 * <p>The response stays small: {@code _source} leaves out the encrypted record; each hit's {@value HitField#NAME}
 * field carries p (binary, base64), the nonce, the data node's exact residual term for a probed cell, and z only for
 * a hit of an unprobed cell (org.encryptedknn.fetch.EncryptedKnnFetchSubPhase).
 */
public final class EncryptedSearch {

    /** One hit with its exact plaintext similarity. */
    public record ExactHit(String id, double score, int cell, JsonNode source) {}

    /**
     * What a response carries for one hit: its record (with zeros in place of {@code z} when z did not come back),
     * whether z came back, and the hit's {@value HitField#NAME} object (missing node when the hit has none).
     */
    record HitData(EncryptedVector record, boolean hasResidual, JsonNode info) {}

    private final VectorTransform transform;
    private final String field;
    private final EncryptedQuery query;
    private final Map<Integer, float[]> cellQueries = new LinkedHashMap<>();

    public EncryptedSearch(VectorTransform transform, String field, float[] vector) {
        this(transform, field, transform.encryptQuery(vector));
    }

    /** A search reusing an already encrypted query (e.g. a follow-up for other cells). */
    public EncryptedSearch(VectorTransform transform, String field, EncryptedQuery query) {
        this.transform = transform;
        this.field = field;
        this.query = query;
    }

    public EncryptedQuery query() {
        return query;
    }

    public VectorTransform transform() {
        return transform;
    }

    public String field() {
        return field;
    }

    /** The keyed residual queries H_c r_q of the chosen cells, in the order they were added (read-only use). */
    Map<Integer, float[]> cellQueries() {
        return cellQueries;
    }

    /**
     * The candidate window k to ask for when the caller sets none: the model's calibrated default for an index of
     * {@code documents} documents ({@link org.encryptedknn.model.EncryptionModel#defaultWindow}; 0 = its calibration
     * size).
     */
    public int defaultWindow(long documents) {
        return transform.model().defaultWindow(documents);
    }

    /** The cells whose residual queries will be sent (e.g. {@link VectorTransform#probeCells}). */
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

    /**
     * The {@code key_holder} mode (default): stage 1 only, the {@code k} candidates all returned (the key holder must
     * see every one to rank exactly) with their records in {@code _source}. No residual query and no rescore reach the
     * data node; cut the ranking to the size you want.
     */
    public ObjectNode keyHolderBody(int k) {
        return stageOneBody(k, k);
    }

    /** The {@code keyed_leaks_query_residuals} mode: stage 1 + keyed rescore of the window with the residual queries of the chosen cells. */
    public ObjectNode keyedBody(int k, int window, int size) {
        ObjectNode body = stageOneBody(k, size);
        excludeCiphertexts(body, window, size);
        ObjectNode cells = rescoreQuery(body, window, "keyed").putObject(RescoreQueryFormat.Query.CELLS);
        // s²·H_c r_q on the wire (VectorTransform.rescoreResidualQuery); cellQueries keep H_c r_q for scoring here
        for (int c : cellQueries.keySet()) {
            cells.put(Integer.toString(c), EncryptedVector.encodeFloats(transform.rescoreResidualQuery(query, c)));
        }
        return body;
    }

    /**
     * {@code _source} without the encrypted record when every returned hit is in the rescore window (each hit's
     * {@value HitField#NAME} has what the key holder needs), else without {@code p} only (hits outside the window need
     * {@code z} and {@code n} from {@code _source}). Other fields stay; a caller that needs none sets
     * {@code "_source": false}, which spares the data node reading stored documents at all.
     */
    void excludeCiphertexts(ObjectNode body, int window, int size) {
        body.putObject("_source").putArray("excludes").add(size <= window ? field : field + "." + RecordFormat.PREFIX);
    }

    /** Adds {@code "rescore":{"window_size":…,"encrypted_knn":{"field":…,"mode":…,"query":{"prefix":[…]}}}}; returns the query. */
    ObjectNode rescoreQuery(ObjectNode body, int window, String mode) {
        ObjectNode rescore = body.putObject("rescore");
        rescore.put("window_size", window);
        ObjectNode spec = rescore.putObject(RescoreQueryFormat.NAME);
        spec.put(RescoreQueryFormat.FIELD, field);
        spec.put(RescoreQueryFormat.MODE, mode);
        ObjectNode q = spec.putObject(RescoreQueryFormat.QUERY);
        ArrayNode prefix = q.putArray(RescoreQueryFormat.Query.PREFIX);
        for (float v : query.prefix()) { // p_q itself: no second, scaled copy that would give the SAP scale away
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
        int residualDimension = transform.model().residualLength();
        for (JsonNode hit : response.path("hits").path("hits")) {
            HitData d = hitData(hit, field, residualDimension);
            EncryptedVector v = d.record();
            double residual;
            if (d.info().path(HitField.PROBED.key()).asBoolean(false)
                    && d.info().has(HitField.RESIDUAL.key())) {
                residual = transform.fromRescoreScale(
                        d.info().path(HitField.RESIDUAL.key()).asDouble());
            } else if (d.hasResidual()) {
                residual = VectorTransform.residualScore(
                        keyedQueries.computeIfAbsent(v.cell(), c -> transform.keyedResidualQuery(query, c)), v);
            } else {
                throw new IllegalStateException(
                        "hit " + hit.path("_id").asText() + " has neither a residual term nor z: outside the"
                                + " rescore window? (ask for size ≤ window_size)");
            }
            hits.add(new ExactHit(
                    hit.path("_id").asText(),
                    transform.prefixScore(query, v) + residual,
                    v.cell(),
                    hit.path("_source")));
        }
        hits.sort(Comparator.comparingDouble(ExactHit::score).reversed());
        return hits;
    }

    /** A hit's record from its {@value HitField#NAME} object, else from {@code _source}. */
    static HitData hitData(JsonNode hit, String field, int residualDimension) {
        JsonNode info = hitInfo(hit);
        JsonNode source = hit.path("_source").path(field);
        JsonNode z = info.has(HitField.KEYED_RESIDUAL.key())
                ? info.path(HitField.KEYED_RESIDUAL.key())
                : source.path(RecordFormat.KEYED_RESIDUAL);
        boolean hasResidual = z.isTextual();
        EncryptedVector record = new EncryptedVector(
                info.has(HitField.PREFIX.key())
                        ? EncryptedVector.decodeFloats(
                                info.path(HitField.PREFIX.key()).asText())
                        : floats(source.path(RecordFormat.PREFIX)),
                Base64.getDecoder()
                        .decode((info.has(HitField.NONCE.key())
                                        ? info.path(HitField.NONCE.key())
                                        : source.path(RecordFormat.NONCE))
                                .asText()),
                (info.has(HitField.CELL.key()) ? info.path(HitField.CELL.key()) : source.path(RecordFormat.CELL))
                        .asInt(),
                hasResidual ? EncryptedVector.decodeFloats(z.asText()) : new float[residualDimension],
                (info.has(HitField.EPOCH.key()) ? info.path(HitField.EPOCH.key()) : source.path(RecordFormat.EPOCH))
                        .asInt());
        return new HitData(record, hasResidual, info);
    }

    /** A hit's {@value HitField#NAME} object (a missing node when the hit has none). */
    static JsonNode hitInfo(JsonNode hit) {
        return hit.path("fields").path(HitField.NAME).path(0);
    }

    /** A stored record as returned in {@code _source}, read and checked by {@link RecordFormat}. */
    public static EncryptedVector parseRecord(JsonNode node, String field, RecordFormat.Shape shape) {
        return RecordFormat.fromMap(OpenSearchHttp.JSON.convertValue(node, Map.class), "field [" + field + "]", shape);
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    /** The document form of an encrypted vector, as indexed ({@link RecordFormat#toMap}). */
    public static ObjectNode recordJson(EncryptedVector v) {
        return OpenSearchHttp.JSON.valueToTree(RecordFormat.toMap(v));
    }
}
