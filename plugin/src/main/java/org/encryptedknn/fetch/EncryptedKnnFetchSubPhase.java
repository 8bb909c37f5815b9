package org.encryptedknn.fetch;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReaderContext;
import org.encryptedknn.mapper.EncryptedKnnVectorFieldMapper;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.rescore.CandidateScoring;
import org.encryptedknn.rescore.CkksRescorePayload;
import org.encryptedknn.rescore.EncryptedKnnRescorer;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.common.document.DocumentField;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.search.fetch.FetchContext;
import org.opensearch.search.fetch.FetchSubPhase;
import org.opensearch.search.fetch.FetchSubPhaseProcessor;
import org.opensearch.search.rescore.RescoreContext;

/**
 * Adds the per-hit document field {@value HitField#NAME} to the hits of a search with an {@code encrypted_knn} rescorer
 * or the {@link HitRecordsExt} extension: what the key holder needs to finish the ranking, in a compact binary form
 * read from doc values and the prefix vector ({@code transform.ResidualLayout#encodeHitRecord}), so that the response
 * need not carry {@code _source} at all (docs/design.md §5.3). Every hit gets {@code {"record":<bytes>}} — cell, epoch,
 * nonce, p, and z unless the hit's residual term travels otherwise (z is what the data node stores; the key holder
 * needs its key to use it); of a sealed record, epoch, nonce and s. With a rescore, also {@code "probed":…},
 * {@code "rescored":false} for a hit outside the window, and by mode ({@link CandidateScoring#hitDetails}):
 * <ul>
 *   <li><b>keyed</b>: a probed hit carries {@code "residual":⟨H_c r_q, z⟩}, the exact residual term the rescorer used
 *       (the data node computes it anyway), and no z; the key holder adds the exact prefix term, SAP-decrypted from
 *       p and the nonce.</li>
 *   <li><b>ckks</b>, the homomorphic half of that mode ({@code rescore.CkksWindowBatches}): the window's residuals
 *       of probed cells are packed and multiplied with the query ciphertexts, one result ciphertext per batch; a probed
 *       hit carries {@code "batch":"<index>/<shard>/<n>","slot":2} and no z, and the first returned hit of each batch
 *       also {@code "count":14,"ciphertext":<bytes>}.</li>
 * </ul>
 * Binary values are base64 text in JSON and byte strings in CBOR/SMILE.
 */
public final class EncryptedKnnFetchSubPhase implements FetchSubPhase {

    private final Supplier<Executor> ckksExecutor;

    /** {@code ckksExecutor}: where ckks batches are scored in parallel (the plugin's pool, once the node is up). */
    public EncryptedKnnFetchSubPhase(Supplier<Executor> ckksExecutor) {
        this.ckksExecutor = ckksExecutor;
    }

    @Override
    public FetchSubPhaseProcessor getProcessor(FetchContext fetchContext) throws IOException {
        EncryptedKnnRescorer.Context chosen = chosenRescore(fetchContext.rescore());
        if (chosen != null) {
            String tag = fetchContext.getIndexName() + "/"
                    + fetchContext.getQueryShardContext().getShardId();
            CandidateScoring.HitDetails details = chosen.scoring()
                    .hitDetails(
                            fetchContext.searcher().getIndexReader(),
                            chosen.spec().field(),
                            chosen.getRescoredDocs(),
                            tag,
                            ckksExecutor.get());
            return new Processor(chosen.spec().field(), chosen, details);
        }
        if (fetchContext.getSearchExt(HitField.REQUEST_EXT) instanceof HitRecordsExt ext) {
            MappedFieldType type = fetchContext.mapperService().fieldType(ext.field());
            if (type == null) {
                return null; // not in this index's mapping: no hit of it has a record
            }
            if (type instanceof EncryptedKnnVectorFieldMapper.EncryptedKnnVectorFieldType == false) {
                throw new IllegalArgumentException("[ext." + HitField.REQUEST_EXT + "." + HitField.REQUEST_FIELD
                        + "]: field [" + ext.field() + "] is of type [" + type.typeName() + "], not ["
                        + EncryptedKnnVectorFieldMapper.CONTENT_TYPE + "]");
            }
            return new Processor(ext.field(), null, null);
        }
        return null;
    }

    /** The last encrypted_knn rescorer decides the final scores, unless one attaches ciphertexts (at most one may). */
    private static EncryptedKnnRescorer.Context chosenRescore(List<RescoreContext> rescores) {
        EncryptedKnnRescorer.Context chosen = null;
        boolean ciphertexts = false;
        for (RescoreContext rc : rescores == null ? List.<RescoreContext>of() : rescores) {
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
        return chosen;
    }

    /**
     * Adds {@value HitField#NAME} to each hit; a ckks batch's ciphertext goes on the first of its hits that is fetched.
     * {@code context} and {@code details} are null for a search without a rescore (records only).
     */
    static final class Processor implements FetchSubPhaseProcessor {
        private final String field;
        private final EncryptedKnnRescorer.Context context;
        private final CandidateScoring.HitDetails details;
        private EncryptedKnnRescorer.LeafCursor cursor;
        private BinaryDocValues nonces;
        private int lastDoc;

        Processor(String field, EncryptedKnnRescorer.Context context, CandidateScoring.HitDetails details) {
            this.field = field;
            this.context = context;
            this.details = details;
        }

        @Override
        public void setNextReader(LeafReaderContext readerContext) throws IOException {
            cursor = new EncryptedKnnRescorer.LeafCursor(readerContext, field);
            nonces = readerContext.reader().getBinaryDocValues(ResidualDocValues.nonceField(field));
            lastDoc = -1;
        }

        @Override
        public void process(HitContext hitContext) throws IOException {
            int leafDoc = hitContext.docId();
            if (leafDoc < lastDoc) { // the fetch phase visits a segment's hits in doc order; rewind otherwise
                setNextReader(hitContext.readerContext());
            }
            lastDoc = leafDoc;
            if (!cursor.advance(leafDoc) || nonces == null || !nonces.advanceExact(leafDoc)) {
                return;
            }
            byte[] nonce = ResidualDocValues.nonce(nonces.binaryValue());
            Map<String, Object> value = new LinkedHashMap<>();
            ResidualLayout.Residual record = cursor.record();
            float[] prefix = record.isSealed() ? null : cursor.prefix(); // a sealed record is scored from s alone
            if (context == null) {
                value.put(HitField.RECORD.key(), ResidualLayout.encodeHitRecord(record, nonce, prefix, true));
            } else {
                EncryptedKnnRescorer.HitScore score = cursor.score(context);
                int doc = leafDoc + hitContext.readerContext().docBase;
                boolean rescored = context.isRescored(doc);
                boolean probed = details.probed(doc, score, rescored);
                // z only where the key holder computes the residual term itself
                value.put(HitField.RECORD.key(), ResidualLayout.encodeHitRecord(record, nonce, prefix, !probed));
                value.put(HitField.PROBED.key(), probed);
                if (probed) {
                    details.addTo(value, doc, score);
                }
                if (!rescored) {
                    value.put(HitField.RESCORED.key(), false);
                }
            }
            hitContext.hit().setDocumentField(HitField.NAME, new DocumentField(HitField.NAME, List.of(value)));
        }
    }
}
