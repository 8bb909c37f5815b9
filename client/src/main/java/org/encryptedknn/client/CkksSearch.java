package org.encryptedknn.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;

/**
 * Key-holder side of one encrypted search in ckks mode (docs/ckks-mode.md), on top of {@link EncryptedSearch} (same
 * stage-1 query, same prefix, same cell choice):
 * <ul>
 *   <li>{@link #body}: encrypts H_c r_q of every chosen cell with the CKKS secret key (in polynomial coefficients,
 *       seeded) and builds the request; {@code _source} leaves out the record (each hit's {@value HitField#NAME}
 *       field carries it in binary, with z for a hit that is in no batch);</li>
 *   <li>{@link #ranking}: decrypts each returned batch ciphertext once (one inner product per block), adds the exact prefix term
 *       ⟨u_q, u_i⟩ (SAP decryption of p_i with n_i) and sorts: exact plaintext similarities, best first. Hits whose cell
 *       was not probed (or is outside the rescore window, or has a residual CKKS cannot encode) are scored locally
 *       from the z the data node returned with them; a hit that has neither (not sent by this version's nodes) is
 *       returned with {@code exact = false} and the prefix term only.</li>
 * </ul>
 * Not thread-safe (one instance per query).
 */
public final class CkksSearch {

    /**
     * One hit: exact score when {@code exact}; otherwise the prefix term only (no encrypted score and no z in the
     * response). {@code record} is what came back of its encrypted vector (zeros in place of z when z did not).
     */
    public record Hit(
            String id,
            double score,
            int cell,
            boolean probed,
            boolean exact,
            JsonNode source,
            EncryptedVector record) {}

    private final EncryptedSearch search;
    private final CkksKeyHolder keyHolder;
    private long encryptNanos;
    private long decryptNanos;
    private int batchesDecrypted;
    private long rankingNanos;
    private int followUpCells;

    public CkksSearch(EncryptedSearch search, CkksKeyHolder keyHolder) {
        this.search = search;
        this.keyHolder = keyHolder;
    }

    /** Stage 1 + ckks rescore of the window, with one CKKS ciphertext per chosen cell. */
    public ObjectNode body(int k, int window, int size) {
        ObjectNode body = search.stageOneBody(k, size);
        search.excludeRecord(body);
        fillCells(search.rescoreQuery(body, window, "ckks"));
        return body;
    }

    /** {@code {"poly_degree":…,"coeff_modulus_bits":[…],"scale_bits":…,"block_width":…}}. */
    public static ObjectNode parametersJson(CkksParameters p) {
        ObjectNode node = OpenSearchHttp.JSON.createObjectNode();
        node.put(RescoreQueryFormat.Ckks.POLY_DEGREE, p.polyDegree());
        ArrayNode bits = node.putArray(RescoreQueryFormat.Ckks.COEFF_MODULUS_BITS);
        p.coeffModulusBits().forEach(bits::add);
        node.put(RescoreQueryFormat.Ckks.SCALE_BITS, p.scaleBits());
        node.put(RescoreQueryFormat.Ckks.BLOCK_WIDTH, p.blockWidth());
        return node;
    }

    /**
     * Exact similarities of the response's hits, best first; hits without an exact score (unprobed cell, no z in the
     * response) follow all exact ones, ordered by their prefix term.
     */
    public List<Hit> ranking(JsonNode response) {
        long rankingStart = System.nanoTime();
        JsonNode hits = response.path("hits").path("hits");
        // 1. every batch ciphertext appears once in the response: decrypt each once
        long start = System.nanoTime();
        Map<String, double[]> sums = new HashMap<>();
        for (JsonNode hit : hits) {
            JsonNode f = EncryptedSearch.hitInfo(hit);
            if (f.has(HitField.CIPHERTEXT.key())) {
                byte[] ct = binary(f.path(HitField.CIPHERTEXT.key()));
                if (sums.put(
                                f.path(HitField.BATCH.key()).asText(),
                                keyHolder.decryptBatch(
                                        ct, f.path(HitField.COUNT.key()).asInt()))
                        != null) {
                    throw new IllegalStateException(
                            "batch " + f.path(HitField.BATCH.key()).asText() + " appears twice in the response");
                }
                batchesDecrypted++;
            }
        }
        decryptNanos += System.nanoTime() - start;

        // 2. exact prefix term + decrypted residual term (or, for an unprobed cell, the residual term from z)
        VectorTransform transform = search.transform();
        int dr = transform.model().residualLength();
        List<EncryptedSearch.HitData> data = new ArrayList<>();
        for (JsonNode hit : hits) {
            data.add(EncryptedSearch.hitData(hit, dr));
        }
        boolean[] carriesZ = new boolean[data.size()];
        for (int i = 0; i < carriesZ.length; i++) {
            carriesZ[i] = data.get(i).hasResidual()
                    && !data.get(i).info().path(HitField.PROBED.key()).asBoolean(false);
        }
        double[] prefixTerms = search.prefixTerms(data, carriesZ);
        List<Hit> out = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            JsonNode hit = hits.get(i);
            EncryptedSearch.HitData d = data.get(i);
            EncryptedVector v = d.record();
            JsonNode f = d.info();
            double prefix = prefixTerms[i];
            boolean probed = f.path(HitField.PROBED.key()).asBoolean(false);
            double score;
            boolean exact;
            if (v.isSealed()) { // scored whole from s (WindowTerms): never in a batch
                score = prefix;
                exact = true;
            } else if (probed) {
                double[] batch = sums.get(f.path(HitField.BATCH.key()).asText());
                if (batch == null) {
                    throw new IllegalStateException("hit " + hit.path("_id").asText() + " refers to batch "
                            + f.path(HitField.BATCH.key()).asText() + " whose ciphertext is not in the response");
                }
                score = prefix + batch[f.path(HitField.SLOT.key()).asInt()];
                exact = true;
            } else if (d.hasResidual()) {
                score = prefix + search.residualTerm(v);
                exact = true;
            } else {
                score = prefix;
                exact = false;
            }
            out.add(new Hit(hit.path("_id").asText(), score, v.cell(), probed, exact, hit.path("_source"), v));
        }
        // exact scores first; flagged (prefix-only) hits after them: their scores are not comparable
        out.sort(Comparator.comparing(Hit::exact)
                .reversed()
                .thenComparing(Comparator.comparingDouble(Hit::score).reversed()));
        rankingNanos += System.nanoTime() - rankingStart;
        return out;
    }

    /**
     * "Ask again" for flagged hits: the body of a second ckks request that scores only those flagged hits of
     * {@code ranking} that could still enter the top {@code top} (ids query + ckks rescore with their cells), or null
     * when none can. For the cosine space the residual term is bounded by ‖r_q‖·‖r_i‖ = √((1−‖u_q‖²)(1−‖u_i‖²)) (unit
     * vectors, u_i from the SAP-decrypted prefix), so flagged hits below the top-{@code top} exact score minus that
     * bound are dropped; otherwise every flagged hit is asked for. Merge the answer with {@link #merge}.
     */
    public ObjectNode followUpBody(List<Hit> ranking, int top) {
        VectorTransform transform = search.transform();
        List<Hit> exact = ranking.stream().filter(Hit::exact).toList();
        double threshold = exact.size() >= top ? exact.get(top - 1).score() : Double.NEGATIVE_INFINITY;
        boolean cosine = transform.model().parameters().space() == org.encryptedknn.model.Space.COSINE;
        float[] uq = search.query().rotatedPrefix();
        double rq2 = Math.max(0, 1 - dot(uq, uq));
        java.util.Set<Integer> cells = new java.util.TreeSet<>();
        ArrayNode ids = OpenSearchHttp.JSON.createArrayNode();
        for (Hit h : ranking) {
            if (h.exact()) {
                continue;
            }
            if (cosine) {
                float[] ui = transform.decryptPrefix(h.record());
                double bound = Math.sqrt(rq2 * Math.max(0, 1 - dot(ui, ui)));
                if (h.score() + bound < threshold) {
                    continue;
                }
            }
            ids.add(h.id());
            cells.add(h.cell());
        }
        if (ids.isEmpty()) {
            return null;
        }
        EncryptedSearch again = new EncryptedSearch(transform, search.field(), search.query());
        again.withCells(cells.stream().mapToInt(Integer::intValue).toArray());
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", ids.size());
        again.excludeRecord(body);
        body.putObject("query").putObject("ids").set("values", ids);
        CkksSearch follow = new CkksSearch(again, keyHolder);
        ObjectNode q = again.rescoreQuery(body, ids.size(), "ckks");
        follow.fillCells(q);
        encryptNanos += follow.encryptNanos;
        followUpCells = cells.size();
        return body;
    }

    /** Replaces the flagged hits of {@code ranking} by their exact scores from the follow-up response; re-sorts. */
    public List<Hit> merge(List<Hit> ranking, JsonNode followUpResponse) {
        Map<String, Hit> exact = new HashMap<>();
        for (Hit h : ranking(followUpResponse)) {
            if (h.exact()) {
                exact.put(h.id(), h);
            }
        }
        List<Hit> out = new ArrayList<>(ranking.size());
        for (Hit h : ranking) {
            Hit e = h.exact() ? null : exact.get(h.id());
            out.add(e == null ? h : new Hit(h.id(), e.score(), h.cell(), true, true, h.source(), h.record()));
        }
        out.sort(Comparator.comparing(Hit::exact)
                .reversed()
                .thenComparing(Comparator.comparingDouble(Hit::score).reversed()));
        return out;
    }

    /** Cells asked for in the last {@link #followUpBody}. */
    public int followUpCells() {
        return followUpCells;
    }

    /** The bytes of a ciphertext field: base64 text in a JSON response, raw bytes in a CBOR one. */
    private static byte[] binary(JsonNode node) {
        try {
            byte[] bytes = node.binaryValue();
            if (bytes == null) {
                throw new IllegalStateException("ciphertext field is not binary or base64 text: " + node.getNodeType());
            }
            return bytes;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("ciphertext field is not valid base64", e);
        }
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private void fillCells(ObjectNode q) {
        ObjectNode cells = q.putObject(RescoreQueryFormat.Query.CELLS);
        long start = System.nanoTime();
        for (Map.Entry<Integer, float[]> e : search.cellQueries().entrySet()) {
            // a binary node: base64 text in JSON, raw bytes in CBOR (OpenSearchHttp#postCbor)
            cells.put(Integer.toString(e.getKey()), keyHolder.encryptQuery(e.getValue()));
        }
        encryptNanos += System.nanoTime() - start;
        q.set(RescoreQueryFormat.Query.CKKS, parametersJson(keyHolder.context().parameters()));
    }

    /** Time spent encrypting the cell queries so far (key holder). */
    public long encryptNanos() {
        return encryptNanos;
    }

    /** Time spent decrypting batch ciphertexts so far (key holder). */
    public long decryptNanos() {
        return decryptNanos;
    }

    /** Time spent in {@link #ranking} so far: CKKS decryption + SAP prefix decryption + sorting. */
    public long rankingNanos() {
        return rankingNanos;
    }

    public int batchesDecrypted() {
        return batchesDecrypted;
    }
}
