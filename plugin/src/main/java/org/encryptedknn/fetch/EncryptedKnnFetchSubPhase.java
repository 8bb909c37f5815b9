package org.encryptedknn.fetch;

import java.io.IOException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReaderContext;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.rescore.CandidateScoring;
import org.encryptedknn.rescore.CkksRescorePayload;
import org.encryptedknn.rescore.EncryptedKnnRescorer;
import org.encryptedknn.transform.EncryptedVector;
import org.opensearch.common.document.DocumentField;
import org.opensearch.search.fetch.FetchContext;
import org.opensearch.search.fetch.FetchSubPhase;
import org.opensearch.search.fetch.FetchSubPhaseProcessor;
import org.opensearch.search.rescore.RescoreContext;

/**
 * Adds the per-hit document field {@value HitField#NAME} to the hits of a search with an {@code encrypted_knn} rescorer: what
 * the key holder needs to finish the ranking, in a compact form, so that the response need not carry the hits' stored
 * ciphertexts, nor even {@code _source} (docs/storage-plugin.md, docs/ckks-mode.md). Every hit gets
 * {@code {"cell":c,"epoch":e,"prefix":"<b64 float32 p>","nonce":"<b64 n>","probed":…}}; a window hit whose cell was
 * not probed also
 * {@code "z":"<b64 float32 z>"}, so that the key holder computes its residual term itself without a second round trip
 * (z is what the data node stores; the key holder needs its key to use it); a hit outside the rescore window
 * {@code "rescored":false}. Then, by mode ({@link CandidateScoring#hitDetails}):
 * <ul>
 *   <li><b>keyed</b>: a probed hit carries {@code "residual":⟨H_c r_q, z⟩}, the exact residual term the rescorer used
 *       (the data node computes it anyway); the key holder adds the exact prefix term, SAP-decrypted from
 *       {@code prefix} and {@code nonce}.</li>
 *   <li><b>ckks</b>, the homomorphic half of that mode ({@code rescore.CkksWindowBatches}): the window's residuals
 *       of probed cells are packed and multiplied with the query ciphertexts, one result ciphertext per batch; a probed
 *       hit carries {@code "batch":"<index>/<shard>/<n>","slot":2}, and the first returned hit of each batch also
 *       {@code "count":14,"ciphertext":<bytes>} (base64 text in JSON, a byte string in CBOR).</li>
 * </ul>
 */
public final class EncryptedKnnFetchSubPhase implements FetchSubPhase {

    @Override
    public FetchSubPhaseProcessor getProcessor(FetchContext fetchContext) throws IOException {
        List<RescoreContext> rescores = fetchContext.rescore();
        if (rescores == null || rescores.isEmpty()) {
            return null;
        }
        // the last encrypted_knn rescorer decides the final scores, unless one attaches ciphertexts (at most one may)
        EncryptedKnnRescorer.Context chosen = null;
        boolean ciphertexts = false;
        for (RescoreContext rc : rescores) {
            if (rc instanceof EncryptedKnnRescorer.Context c) {
                if (c.scoring().attachesCiphertexts()) {
                    if (ciphertexts) {
                        throw CkksRescorePayload.bad(
                                "rescore", "at most one encrypted_knn rescorer in ckks mode per request");
                    }
                    ciphertexts = true;
                    chosen = c;
                } else if (!ciphertexts) {
                    chosen = c;
                }
            }
        }
        if (chosen == null) {
            return null;
        }
        String tag = fetchContext.getIndexName() + "/"
                + fetchContext.getQueryShardContext().getShardId();
        CandidateScoring.HitDetails details = chosen.scoring()
                .hitDetails(
                        fetchContext.searcher().getIndexReader(), chosen.spec().field(), chosen.getRescoredDocs(), tag);
        return new Processor(chosen, details);
    }

    /** Adds {@value HitField#NAME} to each hit; a ckks batch's ciphertext goes on the first of its hits that is fetched. */
    static final class Processor implements FetchSubPhaseProcessor {
        private final EncryptedKnnRescorer.Context context;
        private final CandidateScoring.HitDetails details;
        private EncryptedKnnRescorer.LeafCursor cursor;
        private BinaryDocValues nonces;
        private int lastDoc;

        Processor(EncryptedKnnRescorer.Context context, CandidateScoring.HitDetails details) {
            this.context = context;
            this.details = details;
        }

        @Override
        public void setNextReader(LeafReaderContext readerContext) throws IOException {
            cursor = new EncryptedKnnRescorer.LeafCursor(
                    readerContext, context.spec().field());
            nonces = readerContext
                    .reader()
                    .getBinaryDocValues(
                            ResidualDocValues.nonceField(context.spec().field()));
            lastDoc = -1;
        }

        @Override
        public void process(HitContext hitContext) throws IOException {
            int leafDoc = hitContext.docId();
            if (leafDoc < lastDoc) { // the fetch phase visits a segment's hits in doc order; rewind otherwise
                setNextReader(hitContext.readerContext());
            }
            lastDoc = leafDoc;
            EncryptedKnnRescorer.HitScore score = cursor.score(leafDoc, context);
            if (!score.hasVector()) {
                return;
            }
            int doc = leafDoc + hitContext.readerContext().docBase;
            boolean rescored = context.isRescored(doc);
            Map<String, Object> value = new LinkedHashMap<>();
            value.put(HitField.CELL.key(), score.cell());
            value.put(HitField.EPOCH.key(), score.epoch());
            value.put(HitField.PREFIX.key(), EncryptedVector.encodeFloats(score.p()));
            if (nonces != null && nonces.advanceExact(leafDoc)) {
                value.put(
                        HitField.NONCE.key(),
                        Base64.getEncoder().encodeToString(ResidualDocValues.nonce(nonces.binaryValue())));
            }
            boolean probed = details.probed(doc, score, rescored);
            value.put(HitField.PROBED.key(), probed);
            if (rescored && !probed) {
                value.put(HitField.KEYED_RESIDUAL.key(), EncryptedVector.encodeFloats(cursor.residual()));
            }
            if (probed) {
                details.addTo(value, doc, score);
            }
            if (!rescored) {
                value.put(HitField.RESCORED.key(), false);
            }
            hitContext.hit().setDocumentField(HitField.NAME, new DocumentField(HitField.NAME, List.of(value)));
        }
    }
}
