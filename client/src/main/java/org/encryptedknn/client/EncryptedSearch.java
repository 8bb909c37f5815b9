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
import java.util.concurrent.ForkJoinPool;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.ResidualLayout;
import org.encryptedknn.transform.VectorTransform;
import org.encryptedknn.transform.WindowTerms;

/**
 * Key-holder side of one encrypted search in the {@code key_holder} (default) and
 * {@code keyed_leaks_query_residuals} modes ({@link org.encryptedknn.transform.SearchMode}): builds the request body
 * and turns the response into the exact ranking. HTTP-client agnostic: bodies are Jackson trees.
 *
 * <p>{@link #keyHolderBody}: the stage-1 encrypted prefix query only; the data node learns nothing of the query but
 * p_q and returns the candidates' records (each hit's binary per-hit record, {@link HitField#REQUEST_EXT}), which
 * {@link #exactRanking} scores here (prefix term by SAP decryption, residual term from each record's z, H_c r_q once
 * per cell).
 *
 * <p>{@link #keyedBody} adds a keyed rescore with the residual queries of chosen cells, which the data node sees. It
 * scores a hit as ⟨prefix/s², p_i⟩ + ⟨H_c r_q, z_i⟩: the first term is only an
 * approximation (it cannot remove the SAP noise), the second is exact. The key holder replaces the
 * approximation with the exact prefix term ⟨u_q, u_i⟩ by decrypting p_i with its nonce, and computes
 * the residual term itself for hits whose cell was not sent.
 *
 * <p>The response stays small: {@code _source} leaves out the encrypted record; each hit's {@value HitField#NAME}
 * field carries its record in binary (cell, epoch, nonce, p; z unless the data node computed the residual term), and
 * in keyed mode the data node's exact residual term of a probed cell (org.encryptedknn.fetch.EncryptedKnnFetchSubPhase,
 * {@link ResidualLayout#hitRecord}). Set {@code "_source": false} on a body when no other field is needed: the data
 * node then reads no stored document but the ids.
 */
public final class EncryptedSearch {

    /** One hit with its exact plaintext similarity. */
    public record ExactHit(String id, double score, int cell, JsonNode source) {}

    /**
     * What a response carries for one hit: its record (with zeros in place of {@code z} when z did not come back),
     * whether z came back, and the hit's {@value HitField#NAME} object.
     */
    record HitData(EncryptedVector record, boolean hasResidual, JsonNode info) {}

    private final VectorTransform transform;
    private final String field;
    private final EncryptedQuery query;
    private final Map<Integer, float[]> cellQueries = new LinkedHashMap<>();
    /** H_c r_q of the cells that were not sent (by {@link WindowTerms#cellKey}), computed for the hits scored here. */
    private final Map<Long, float[]> scoringQueries = new HashMap<>();

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
     * see every one to rank exactly), each with its record in the binary per-hit field, {@code _source} without the
     * record. No residual query and no rescore reach the data node; cut the ranking to the size you want.
     */
    public ObjectNode keyHolderBody(int k) {
        ObjectNode body = stageOneBody(k, k);
        excludeRecord(body);
        body.putObject("ext").putObject(HitField.REQUEST_EXT).put(HitField.REQUEST_FIELD, field);
        return body;
    }

    /** The {@code keyed_leaks_query_residuals} mode: stage 1 + keyed rescore of the window with the residual queries of the chosen cells. */
    public ObjectNode keyedBody(int k, int window, int size) {
        ObjectNode body = stageOneBody(k, size);
        excludeRecord(body);
        ObjectNode cells = rescoreQuery(body, window, "keyed").putObject(RescoreQueryFormat.Query.CELLS);
        // s²·H_c r_q on the wire (VectorTransform.rescoreResidualQuery); cellQueries keep H_c r_q for scoring here
        for (int c : cellQueries.keySet()) {
            cells.put(Integer.toString(c), EncryptedVector.encodeFloats(transform.rescoreResidualQuery(query, c)));
        }
        return body;
    }

    /**
     * {@code _source} without the encrypted record: each hit's {@value HitField#NAME} has what the key holder needs.
     * Other fields stay; a caller that needs none sets {@code "_source": false}, which spares the data node reading
     * stored documents at all.
     */
    void excludeRecord(ObjectNode body) {
        body.putObject("_source").putArray("excludes").add(field);
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
        int residualDimension = transform.model().residualLength();
        List<JsonNode> hits = new ArrayList<>();
        List<HitData> data = new ArrayList<>();
        for (JsonNode hit : response.path("hits").path("hits")) {
            hits.add(hit);
            data.add(hitData(hit, residualDimension));
        }
        Double[] nodeTerms = new Double[data.size()];
        boolean[] carriesZ = new boolean[data.size()];
        for (int i = 0; i < carriesZ.length; i++) {
            nodeTerms[i] = nodeTerm(data.get(i));
            carriesZ[i] = data.get(i).hasResidual() && nodeTerms[i] == null;
        }
        double[] prefixTerms = prefixTerms(data, carriesZ);
        List<ExactHit> ranked = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            HitData d = data.get(i);
            EncryptedVector v = d.record();
            double residual;
            if (v.isSealed()) {
                residual = 0; // its prefix term is its whole score (WindowTerms)
            } else if (nodeTerms[i] != null) {
                residual = nodeTerms[i];
            } else if (d.hasResidual()) {
                residual = residualTerm(v);
            } else {
                throw new IllegalStateException(
                        "hit " + hits.get(i).path("_id").asText() + " has neither a residual term nor z");
            }
            ranked.add(new ExactHit(
                    hits.get(i).path("_id").asText(),
                    prefixTerms[i] + residual,
                    v.cell(),
                    hits.get(i).path("_source")));
        }
        ranked.sort(Comparator.comparingDouble(ExactHit::score).reversed());
        return ranked;
    }

    /** The data node's exact residual term of a probed hit (keyed rescore), on the score's scale; null otherwise. */
    private Double nodeTerm(HitData d) {
        if (d.info().path(HitField.PROBED.key()).asBoolean(false) && d.info().has(HitField.RESIDUAL.key())) {
            return transform.fromRescoreScale(
                    d.info().path(HitField.RESIDUAL.key()).asDouble());
        }
        return null;
    }

    /**
     * The exact prefix terms of the hits' records, and the keyed queries of the cells of those with {@code carriesZ}
     * that {@link #residualTerm} will need, on this thread and the common fork-join pool ({@link WindowTerms}).
     */
    double[] prefixTerms(List<HitData> data, boolean[] carriesZ) {
        for (int i = 0; i < carriesZ.length; i++) {
            carriesZ[i] &= !cellQueries.containsKey(data.get(i).record().cell()); // sent: computed already
        }
        return WindowTerms.compute(
                data.stream().map(HitData::record).toList(),
                carriesZ,
                epoch -> transform,
                epoch -> query,
                scoringQueries,
                ForkJoinPool.commonPool(),
                ForkJoinPool.getCommonPoolParallelism());
    }

    /** ⟨H_c r_q, z⟩ of a record with its z, H_c r_q computed once per cell: a window holds many hits of few cells. */
    double residualTerm(EncryptedVector v) {
        float[] keyed = cellQueries.get(v.cell());
        if (keyed == null) {
            keyed = scoringQueries.computeIfAbsent(
                    WindowTerms.cellKey(v.epoch(), v.cell()), c -> transform.keyedResidualQuery(query, v.cell()));
        }
        return VectorTransform.residualScore(keyed, v);
    }

    /** A hit's record from the binary per-hit record of its {@value HitField#NAME} object. */
    static HitData hitData(JsonNode hit, int residualLength) {
        JsonNode info = hitInfo(hit);
        JsonNode value = info.path(HitField.RECORD.key());
        byte[] bytes;
        try {
            // base64 text in JSON (the JDK's decoder is the faster one), a byte string in CBOR
            bytes = value.isTextual() ? Base64.getDecoder().decode(value.textValue()) : value.binaryValue();
        } catch (IllegalArgumentException | java.io.IOException e) {
            throw new IllegalStateException(
                    "hit " + hit.path("_id").asText() + ": " + HitField.NAME + "." + HitField.RECORD.key()
                            + " is not valid base64",
                    e);
        }
        if (bytes == null) {
            throw new IllegalStateException("hit " + hit.path("_id").asText() + " has no " + HitField.NAME + "."
                    + HitField.RECORD.key() + " (the request needs the " + HitField.REQUEST_EXT
                    + " extension or an encrypted_knn rescore)");
        }
        ResidualLayout.HitRecord record = ResidualLayout.hitRecord(bytes, residualLength);
        return new HitData(record.vector(), record.hasResidual(), info);
    }

    /** A hit's {@value HitField#NAME} object (a missing node when the hit has none). */
    static JsonNode hitInfo(JsonNode hit) {
        return hit.path("fields").path(HitField.NAME).path(0);
    }

    /** A stored record as returned in {@code _source}, read and checked by {@link RecordFormat}. */
    public static EncryptedVector parseRecord(JsonNode node, String field, RecordFormat.Shape shape) {
        return RecordFormat.fromMap(OpenSearchHttp.JSON.convertValue(node, Map.class), "field [" + field + "]", shape);
    }

    /** The document form of an encrypted vector, as indexed ({@link RecordFormat#toMap}). */
    public static ObjectNode recordJson(EncryptedVector v) {
        return OpenSearchHttp.JSON.valueToTree(RecordFormat.toMap(v));
    }
}
