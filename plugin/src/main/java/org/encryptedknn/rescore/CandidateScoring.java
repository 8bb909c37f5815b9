package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.util.BytesRef;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.stats.PluginStats;

/**
 * What a data node does with each candidate of an {@code encrypted_knn} rescore window: one implementation per rescore
 * mode, chosen once from the request's payload. (The default search mode, {@code key_holder}, sends no rescore at all:
 * the window comes back in HNSW order and the key holder scores it.)
 * <ul>
 *   <li>{@link Keyed} ({@code keyed_leaks_query_residuals} search mode): the residual term ⟨H_c r_q, z_i⟩ of a probed
 *       cell is computed here, exactly, and the window is sorted by prefix approximation + that term; each hit's
 *       {@code _encrypted_knn} field carries the term.</li>
 *   <li>{@link Ckks}: this node cannot see the residual term, so the window is ordered by the prefix approximation; the
 *       fetch phase multiplies the window's residuals with the query ciphertexts ({@link CkksWindowBatches}) and each
 *       hit's field says where its encrypted term is.</li>
 * </ul>
 */
public abstract sealed class CandidateScoring permits CandidateScoring.Keyed, CandidateScoring.Ckks {

    private final RescorePayload<?> payload;
    private final String modeName;

    CandidateScoring(RescorePayload<?> payload, String modeName) {
        this.payload = payload;
        this.modeName = modeName;
    }

    /** One candidate's residual term as this node computes it ({@code 0} when it does not). */
    record Residual(boolean probed, double term) {}

    static final Residual UNPROBED = new Residual(false, 0);

    /** The request's payload: the scaled prefix query, the cells, the epoch. */
    RescorePayload<?> payload() {
        return payload;
    }

    /** For explanations: {@code keyed} or {@code ckks}. */
    String modeName() {
        return modeName;
    }

    /** The residual part of a candidate's score, from its {@code ._residual} record of the query's epoch. */
    abstract Residual residual(BytesRef record);

    /** Explains a window hit's score whose prefix part is {@code prefix}. */
    abstract Explanation explain(EncryptedKnnRescorer.HitScore score, Explanation prefix);

    /** The per-hit fields of this mode carry ciphertexts: at most one such rescorer per request. */
    public boolean attachesCiphertexts() {
        return false;
    }

    /** This mode's node counter. */
    void countRequest() {
        PluginStats.RESCORE_REQUESTS.increment();
    }

    /**
     * The fetch sub-phase's per-shard work for this mode: what each returned hit's {@code _encrypted_knn} field gets
     * beyond the keys every mode writes. {@code field}: the vector field; {@code window}: the shard's rescored doc ids.
     */
    public abstract HitDetails hitDetails(IndexReader reader, String field, Set<Integer> window, String tag)
            throws IOException;

    /** One shard's mode-specific part of the per-hit field. */
    public interface HitDetails {
        /** The hit's residual term was computed for this request (in clear, or homomorphically). */
        boolean probed(int doc, EncryptedKnnRescorer.HitScore score, boolean rescored);

        /** Adds the mode's keys for a probed hit. */
        void addTo(Map<String, Object> value, int doc, EncryptedKnnRescorer.HitScore score);
    }

    /** Clear residual queries: exact scores on the data node. */
    static final class Keyed extends CandidateScoring {
        private final KeyedRescorePayload query;

        Keyed(KeyedRescorePayload query) {
            super(query, "keyed");
            this.query = query;
        }

        @Override
        Residual residual(BytesRef record) {
            float[] rq = query.cells().get(ResidualDocValues.cell(record));
            if (rq == null || ResidualDocValues.residualLength(record) != rq.length) {
                return UNPROBED;
            }
            return new Residual(true, ResidualDocValues.dotResidual(record, rq));
        }

        @Override
        Explanation explain(EncryptedKnnRescorer.HitScore score, Explanation prefix) {
            Explanation residual = score.probed()
                    ? Explanation.match((float) score.residualTerm(), "<H_c r_q, z> for cell " + score.cell())
                    : Explanation.match(
                            0f,
                            "cell " + score.cell() + " (epoch " + score.epoch()
                                    + ") not in the query: prefix part only");
            return Explanation.match(score.total(), "encrypted_knn keyed rescore, sum of:", prefix, residual);
        }

        @Override
        public HitDetails hitDetails(IndexReader reader, String field, Set<Integer> window, String tag) {
            return new HitDetails() {
                @Override
                public boolean probed(int doc, EncryptedKnnRescorer.HitScore score, boolean rescored) {
                    return rescored && score.probed();
                }

                @Override
                public void addTo(Map<String, Object> value, int doc, EncryptedKnnRescorer.HitScore score) {
                    value.put("residual", score.residualTerm());
                }
            };
        }
    }

    /** Encrypted residual queries: ordering by the prefix approximation here, the products in the fetch phase. */
    static final class Ckks extends CandidateScoring {
        private final CkksRescorePayload query;

        Ckks(CkksRescorePayload query) {
            super(query, "ckks");
            this.query = query;
        }

        @Override
        Residual residual(BytesRef record) {
            boolean probed = query.cells().containsKey(ResidualDocValues.cell(record)) && query.residualFits(record);
            return probed ? new Residual(true, 0) : UNPROBED;
        }

        @Override
        Explanation explain(EncryptedKnnRescorer.HitScore score, Explanation prefix) {
            return Explanation.match(
                    score.total(),
                    "encrypted_knn ckks rescore: prefix approximation only (the residual term is in the hit's "
                            + EncryptedKnnRescorer.HIT_FIELD + " ciphertext"
                            + (score.probed() ? "" : "; cell " + score.cell() + " not probed") + ")",
                    prefix);
        }

        @Override
        public boolean attachesCiphertexts() {
            return true;
        }

        @Override
        void countRequest() {
            super.countRequest();
            PluginStats.CKKS_RESCORE_REQUESTS.increment();
        }

        @Override
        public HitDetails hitDetails(IndexReader reader, String field, Set<Integer> window, String tag)
                throws IOException {
            long start = System.nanoTime();
            try {
                return CkksWindowBatches.compute(reader, query, field, window, tag);
            } finally {
                PluginStats.CKKS_NANOS.add(System.nanoTime() - start);
            }
        }
    }
}
