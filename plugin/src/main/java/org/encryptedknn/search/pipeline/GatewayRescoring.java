package org.encryptedknn.search.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.encryptedknn.fetch.HitRecordsExt;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.rescore.CkksRescorePayload;
import org.encryptedknn.rescore.EncryptedKnnRescorerBuilder;
import org.encryptedknn.rescore.KeyedRescorePayload;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.ResidualLayout;
import org.encryptedknn.transform.SearchMode;
import org.encryptedknn.transform.VectorTransform;
import org.opensearch.common.document.DocumentField;
import org.opensearch.search.SearchExtBuilder;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;

/**
 * The gateway's half of one {@link SearchMode}, for one search: what {@code encrypted_knn_query} sends to the data
 * nodes besides the encrypted prefix query, and where {@code encrypted_knn_rerank} takes each hit's residual term
 * from. Every mode gets each hit's record from its per-hit {@value HitField#NAME} field, never from {@code _source}.
 * One instance per search (ckks keeps the decrypted batches of its response).
 */
abstract sealed class GatewayRescoring {

    /** The vector field searched, and how many cells' residual queries the rescore modes send. */
    final String field;

    final int probeCells;

    GatewayRescoring(String field, int probeCells) {
        this.field = field;
        this.probeCells = probeCells;
    }

    static GatewayRescoring forSearch(
            SearchMode mode, String field, int probeCells, GatewayCkks ckks, int residualLength) {
        return switch (mode) {
            case KEY_HOLDER -> new KeyHolder(field);
            case KEYED_LEAKS_QUERY_RESIDUALS -> new Keyed(field, probeCells);
            case CKKS -> new Ckks(field, probeCells, ckks.keyHolder(CkksParameters.forResidualLength(residualLength)));
        };
    }

    /**
     * Adds what this mode sends besides the stage-1 query ({@code window} = the candidates to score). The base asks for
     * the hits' records ({@link HitRecordsExt}) and nothing about the query.
     */
    void addToRequest(SearchSourceBuilder source, EncryptedQuery query, VectorTransform transform, int window) {
        List<SearchExtBuilder> ext = new ArrayList<>(source.ext());
        ext.removeIf(e -> e instanceof HitRecordsExt);
        ext.add(new HitRecordsExt(field));
        source.ext(ext);
    }

    /** Called once with the response's hits before {@link #residualTerm} (ckks decrypts its batches here). */
    void beforeScoring(SearchHit[] hits) {}

    /**
     * ⟨H_c r_q, z⟩ of one hit, under the record's own cell and epoch: from the record's z and the search's keyed query
     * of that cell ({@code info}: the hit's per-hit field; the rescore modes may have the term there instead). 0 for a
     * sealed record, whose prefix term ({@link GatewayQueryState#prefixTerms}) is its whole score.
     */
    double residualTerm(SearchHit hit, Map<?, ?> info, ResidualLayout.HitRecord record, GatewayQueryState state) {
        if (record.vector().isSealed()) {
            return 0;
        }
        if (record.hasResidual() == false) {
            throw new IllegalStateException("hit [" + hit.getId() + "] of index [" + hit.getIndex()
                    + "] has neither a residual term nor z in its " + HitField.NAME + " field");
        }
        EncryptedVector v = record.vector();
        return VectorTransform.residualScore(state.keyedQuery(v.epoch(), v.cell()), v);
    }

    /** The data node gets the encrypted prefix query only; every hit is scored here from the z of its record. */
    static final class KeyHolder extends GatewayRescoring {
        KeyHolder(String field) {
            super(field, 0);
        }
    }

    /** Adds the {@code encrypted_knn} rescore of the window with the probed cells' residual queries. */
    abstract static sealed class WithRescore extends GatewayRescoring {
        WithRescore(String field, int probeCells) {
            super(field, probeCells);
        }

        @Override
        final void addToRequest(
                SearchSourceBuilder source, EncryptedQuery query, VectorTransform transform, int window) {
            Map<Integer, float[]> cells = new LinkedHashMap<>();
            for (int c : transform.probeCells(query, probeCells)) {
                cells.put(c, residualQuery(transform, query, c));
            }
            // the rescore's prefix is the stage-1 query p_q itself: a second, scaled copy would give the SAP scale away
            EncryptedKnnRescorerBuilder rescore = rescorer(query.prefix(), cells, query.epoch());
            rescore.windowSize(window);
            source.addRescorer(rescore);
        }

        /** What this mode sends for one probed cell, in clear (ckks encrypts it in {@link #rescorer}). */
        abstract float[] residualQuery(VectorTransform transform, EncryptedQuery query, int cell);

        abstract EncryptedKnnRescorerBuilder rescorer(float[] prefix, Map<Integer, float[]> cells, int epoch);
    }

    /** The residual queries travel in clear; the data node orders the window by exact scores. */
    static final class Keyed extends WithRescore {
        Keyed(String field, int probeCells) {
            super(field, probeCells);
        }

        /** s²·H_c r_q: the data node's sum of the two terms is then s² times the score, on the scale of p_q. */
        @Override
        float[] residualQuery(VectorTransform transform, EncryptedQuery query, int cell) {
            return transform.rescoreResidualQuery(query, cell);
        }

        @Override
        EncryptedKnnRescorerBuilder rescorer(float[] prefix, Map<Integer, float[]> cells, int epoch) {
            return new EncryptedKnnRescorerBuilder(field, new KeyedRescorePayload(prefix, cells, epoch));
        }

        /** The data node's exact term for a probed hit (on the rescore's s² scale); z (and the base) otherwise. */
        @Override
        double residualTerm(SearchHit hit, Map<?, ?> info, ResidualLayout.HitRecord record, GatewayQueryState state) {
            if (Boolean.TRUE.equals(info.get(HitField.PROBED.key()))
                    && info.get(HitField.RESIDUAL.key()) instanceof Number term) {
                return state.transform(record.vector().epoch()).fromRescoreScale(term.doubleValue());
            }
            return super.residualTerm(hit, info, record, state);
        }
    }

    /** The residual queries travel as CKKS ciphertexts under this node's key; probed hits' terms come back encrypted. */
    static final class Ckks extends WithRescore {
        private final CkksKeyHolder keys;
        private final Map<String, double[]> batches = new HashMap<>();

        Ckks(String field, int probeCells, CkksKeyHolder keys) {
            super(field, probeCells);
            this.keys = keys;
        }

        /** H_c r_q unscaled: the data node orders by the prefix term alone, and the decrypted term is the score's. */
        @Override
        float[] residualQuery(VectorTransform transform, EncryptedQuery query, int cell) {
            return transform.keyedResidualQuery(query, cell);
        }

        @Override
        EncryptedKnnRescorerBuilder rescorer(float[] prefix, Map<Integer, float[]> cells, int epoch) {
            Map<Integer, byte[]> ciphertexts = new LinkedHashMap<>();
            for (Map.Entry<Integer, float[]> e : cells.entrySet()) {
                ciphertexts.put(e.getKey(), keys.encryptQuery(e.getValue()));
                Arrays.fill(e.getValue(), 0f); // the clear copy is not needed any more
            }
            return new EncryptedKnnRescorerBuilder(
                    field,
                    new CkksRescorePayload(
                            prefix, ciphertexts, epoch, keys.context().parameters()));
        }

        /** Decrypts every batch ciphertext of the response once: batch id → the inner products of its hits. */
        @Override
        void beforeScoring(SearchHit[] hits) {
            for (SearchHit hit : hits) {
                Map<?, ?> info = hitInfo(hit);
                if (info.get(HitField.CIPHERTEXT.key()) instanceof byte[] ct
                        && info.get(HitField.BATCH.key()) instanceof String batch
                        && info.get(HitField.COUNT.key()) instanceof Number n) {
                    batches.put(batch, keys.decryptBatch(ct, n.intValue()));
                }
            }
        }

        /** The decrypted residual term of a probed hit; from z (the base) for an unprobed one. */
        @Override
        double residualTerm(SearchHit hit, Map<?, ?> info, ResidualLayout.HitRecord record, GatewayQueryState state) {
            if (Boolean.TRUE.equals(info.get(HitField.PROBED.key()))
                    && info.get(HitField.BATCH.key()) instanceof String batch
                    && info.get(HitField.SLOT.key()) instanceof Number slot) {
                double[] sums = batches.get(batch);
                if (sums == null || slot.intValue() >= sums.length) {
                    throw new IllegalStateException("hit [" + hit.getId() + "] refers to batch [" + batch
                            + "] whose ciphertext is not in the response");
                }
                return sums[slot.intValue()];
            }
            return super.residualTerm(hit, info, record, state);
        }
    }

    /** The hit's per-hit field {@value HitField#NAME}, or an empty map. */
    static Map<?, ?> hitInfo(SearchHit hit) {
        DocumentField f = hit.field(HitField.NAME);
        return f != null && f.getValue() instanceof Map<?, ?> m ? m : Map.of();
    }
}
