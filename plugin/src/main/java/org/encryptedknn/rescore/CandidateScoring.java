package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.search.Explanation;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.transform.ResidualLayout;

/**
 * What a data node does with each candidate of an {@code encrypted_knn} rescore window: one implementation per rescore
 * mode, chosen once from the request's payload. (The default search mode, {@code key_holder}, sends no rescore at all:
 * the window comes back in HNSW order and the key holder scores it.)
 * <ul>
 *   <li>{@link Keyed} ({@code keyed_leaks_query_residuals} search mode): the residual term ⟨H_c r_q, z_i⟩ of a probed
 *       cell is computed here, exactly, and the window is sorted by prefix approximation + that term; each hit's
 *       {@value HitField#NAME} field carries the term.</li>
 *   <li>{@link Ckks}: this node cannot see the residual term, so the window is ordered by the prefix approximation; the
 *       fetch phase multiplies the window's residuals with the query ciphertexts ({@link CkksWindowBatches}) and each
 *       hit's field says where its encrypted term is.</li>
 * </ul>
 */
public abstract sealed class CandidateScoring<P extends RescorePayload<?>>
        permits CandidateScoring.Keyed, CandidateScoring.Ckks {

    private final P payload;
    private final String modeName;

    CandidateScoring(P payload, String modeName) {
        this.payload = payload;
        this.modeName = modeName;
    }

    /** One candidate's residual term as this node computes it ({@code 0} when it does not). */
    record Residual(boolean probed, double term) {}

    static final Residual UNPROBED = new Residual(false, 0);

    /** The request's payload: the prefix query p_q, the cells, the epoch. */
    P payload() {
        return payload;
    }

    /** For explanations: {@code keyed} or {@code ckks}. */
    String modeName() {
        return modeName;
    }

    /** The residual part of a candidate's score, from its {@code ._residual} record of the query's epoch. */
    abstract Residual residual(ResidualLayout.Residual record);

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
     * The fetch sub-phase's per-shard work for this mode: what each returned hit's {@value HitField#NAME} field gets
     * beyond the keys every mode writes. {@code field}: the vector field; {@code window}: the shard's rescored doc ids;
     * {@code executor}: where work may run in parallel (ckks batches), or null.
     */
    public abstract HitDetails hitDetails(
            IndexReader reader, String field, Set<Integer> window, String tag, Executor executor) throws IOException;

    /** One shard's mode-specific part of the per-hit field. */
    public interface HitDetails {
        /** The hit's residual term was computed for this request (in clear, or homomorphically). */
        boolean probed(int doc, EncryptedKnnRescorer.HitScore score, boolean rescored);

        /** Adds the mode's keys for a probed hit. */
        void addTo(Map<String, Object> value, int doc, EncryptedKnnRescorer.HitScore score);
    }

    /** Clear residual queries: exact scores on the data node. */
    static final class Keyed extends CandidateScoring<KeyedRescorePayload> {
        Keyed(KeyedRescorePayload query) {
            super(query, "keyed");
        }

        @Override
        Residual residual(ResidualLayout.Residual record) {
            float[] rq = payload().cells().get(record.cell());
            if (rq == null || record.length() != rq.length) {
                return UNPROBED;
            }
            return new Residual(true, record.dot(rq));
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
        public HitDetails hitDetails(
                IndexReader reader, String field, Set<Integer> window, String tag, Executor executor) {
            return new HitDetails() {
                @Override
                public boolean probed(int doc, EncryptedKnnRescorer.HitScore score, boolean rescored) {
                    return rescored && score.probed();
                }

                @Override
                public void addTo(Map<String, Object> value, int doc, EncryptedKnnRescorer.HitScore score) {
                    value.put(HitField.RESIDUAL.key(), score.residualTerm());
                }
            };
        }
    }

    /** Encrypted residual queries: ordering by the prefix approximation here, the products in the fetch phase. */
    static final class Ckks extends CandidateScoring<CkksRescorePayload> {
        Ckks(CkksRescorePayload query) {
            super(query, "ckks");
        }

        @Override
        Residual residual(ResidualLayout.Residual record) {
            boolean probed =
                    payload().cells().containsKey(record.cell()) && payload().residualFits(record);
            return probed ? new Residual(true, 0) : UNPROBED;
        }

        @Override
        Explanation explain(EncryptedKnnRescorer.HitScore score, Explanation prefix) {
            return Explanation.match(
                    score.total(),
                    "encrypted_knn ckks rescore: prefix approximation only (the residual term is in the hit's "
                            + HitField.NAME + " ciphertext"
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
        public HitDetails hitDetails(
                IndexReader reader, String field, Set<Integer> window, String tag, Executor executor)
                throws IOException {
            long start = System.nanoTime();
            try {
                return CkksWindowBatches.compute(reader, payload(), field, window, tag, executor);
            } finally {
                PluginStats.CKKS_NANOS.add(System.nanoTime() - start);
            }
        }
    }
}
