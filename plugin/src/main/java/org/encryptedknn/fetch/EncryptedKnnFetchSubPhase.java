package org.encryptedknn.fetch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksQuery;
import org.encryptedknn.he.CkksScorer;
import org.encryptedknn.he.HeException;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.rescore.CkksRescorePayload;
import org.encryptedknn.rescore.EncryptedKnnRescorer;
import org.encryptedknn.rescore.RescoreMode;
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.ResidualLayout;
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
 * {@code "rescored":false}. Then, by mode:
 * <ul>
 *   <li><b>keyed</b>: a probed hit carries {@code "residual":⟨H_c r_q, z⟩}, the exact residual term the rescorer used
 *       (the data node computes it anyway); the key holder adds the exact prefix term, SAP-decrypted from
 *       {@code prefix} and {@code nonce}.</li>
 *   <li><b>ckks</b>, the homomorphic half of that mode:
 *     <ol>
 *       <li>takes the shard's rescore window from the rescore context ({@link RescoreContext#getRescoredDocs()}: set by
 *           the rescorer when query and fetch share a search context, restored from the query result's rescore doc ids
 *           when the fetch phase runs in a new one);</li>
 *       <li>reads each window hit's record {@code [cell][epoch][z]} and groups the hits of probed cells by cell, in
 *           doc-id order;</li>
 *       <li>loads each cell's query ciphertext (native validating load; every cell sent is loaded, so a bad ciphertext
 *           is a 400 on every shard, not only where that cell has hits) and packs the residuals ⌊(N − 1)/B⌋ at a time,
 *           in cell order, across cells: each block is multiplied by its own cell's query and the products of a batch
 *           are summed into one result ciphertext ({@link CkksScorer#score}), so the response carries ⌈hits/blocks⌉
 *           ciphertexts however the hits spread over cells;</li>
 *       <li>a probed hit carries {@code "batch":"<index>/<shard>/<n>","slot":2}, and the first returned hit of each
 *           batch also {@code "count":14,"ciphertext":<bytes>} (base64 text in JSON, a byte string in CBOR).</li>
 *     </ol>
 *     Each batch ciphertext appears once per response; batch ids are unique per shard, and the hits of one batch all
 *     come from one shard, so the coordinator's merge of shard results keeps every reference resolvable.</li>
 * </ul>
 */
public final class EncryptedKnnFetchSubPhase implements FetchSubPhase {

    @Override
    public FetchSubPhaseProcessor getProcessor(FetchContext fetchContext) throws IOException {
        List<RescoreContext> rescores = fetchContext.rescore();
        if (rescores == null || rescores.isEmpty()) {
            return null;
        }
        EncryptedKnnRescorer.Context ckks = null;
        EncryptedKnnRescorer.Context keyed = null; // the last one decides the final scores
        for (RescoreContext rc : rescores) {
            if (rc instanceof EncryptedKnnRescorer.Context c) {
                if (c.mode() != RescoreMode.CKKS) {
                    keyed = c;
                } else if (ckks != null) {
                    throw CkksRescorePayload.bad(
                            "rescore", "at most one encrypted_knn rescorer in ckks mode per request");
                } else {
                    ckks = c;
                }
            }
        }
        if (ckks == null) {
            return keyed == null ? null : new Processor(keyed, null);
        }
        String tag = fetchContext.getIndexName() + "/"
                + fetchContext.getQueryShardContext().getShardId();
        long start = System.nanoTime();
        try {
            Batches batches = Batches.compute(fetchContext.searcher().getIndexReader(), ckks, tag);
            return new Processor(ckks, batches);
        } finally {
            PluginStats.CKKS_NANOS.add(System.nanoTime() - start);
        }
    }

    /** One result ciphertext: the scores of {@code count} hits, in its first blocks. */
    static final class Batch {
        final String id;
        final byte[] ciphertext;
        final int count;
        boolean emitted;

        Batch(String id, byte[] ciphertext, int count) {
            this.id = id;
            this.ciphertext = ciphertext;
            this.count = count;
        }
    }

    record Slot(Batch batch, int slot) {}

    /** The batches of one shard's window, and where each window hit's score lives. */
    static final class Batches {
        final Map<Integer, Slot> slots = new HashMap<>(); // top-level doc id → slot
        final List<Batch> batches = new ArrayList<>();

        private record Member(int doc, int cell, float[] z) {}

        static Batches compute(IndexReader reader, EncryptedKnnRescorer.Context context, String tag)
                throws IOException {
            CkksRescorePayload query = context.ckksQuery();
            Set<Integer> window = context.getRescoredDocs();
            Batches out = new Batches();
            int[] docs = (window == null ? Set.<Integer>of() : window)
                    .stream().mapToInt(Integer::intValue).toArray();
            Arrays.sort(docs);

            // 1. the window's probed hits, grouped by cell (doc-id order: doc values only move forward)
            String field = ResidualDocValues.residualField(context.spec().field());
            List<LeafReaderContext> leaves = reader.leaves();
            Map<Integer, List<Member>> byCell = new TreeMap<>();
            LeafReaderContext leaf = null;
            BinaryDocValues values = null;
            Integer queryEpoch = query.epoch();
            for (int doc : docs) {
                LeafReaderContext l = leaves.get(ReaderUtil.subIndex(doc, leaves));
                if (l != leaf) {
                    leaf = l;
                    values = l.reader().getBinaryDocValues(field);
                }
                if (values == null || !values.advanceExact(doc - l.docBase)) {
                    continue;
                }
                ResidualLayout.Residual record = ResidualDocValues.residual(values.binaryValue());
                int cell = record.cell();
                int epoch = record.epoch();
                if (query.cells().containsKey(cell)
                        && (queryEpoch == null || queryEpoch == epoch)
                        && query.residualFits(record)) {
                    byCell.computeIfAbsent(cell, c -> new ArrayList<>()).add(new Member(doc, cell, record.z()));
                }
            }

            // 2. every query ciphertext is loaded (validated), then the hits are scored in cell order, ⌊(N − 1)/B⌋ a
            // batch
            CkksContext ckks = query.context();
            CkksScorer scorer = new CkksScorer(ckks);
            Map<Integer, CkksQuery> loaded = new HashMap<>();
            try {
                for (Map.Entry<Integer, byte[]> e : query.cells().entrySet()) {
                    try {
                        loaded.put(e.getKey(), scorer.loadQuery(e.getValue()));
                    } catch (HeException he) {
                        if (he.isInputError()) {
                            PluginStats.CKKS_REJECTIONS.increment();
                            throw CkksRescorePayload.bad(
                                    "rescore.encrypted_knn.query.cells[" + e.getKey() + "]", he.getMessage());
                        }
                        throw he;
                    }
                }
                List<Member> members =
                        byCell.values().stream().flatMap(List::stream).toList();
                List<CkksScorer.Candidate> candidates = members.stream()
                        .map(m -> new CkksScorer.Candidate(loaded.get(m.cell()), m.z()))
                        .toList();
                List<byte[]> results = scorer.score(candidates);
                int blocks = ckks.blocks();
                for (int b = 0; b < results.size(); b++) {
                    int count = Math.min(blocks, candidates.size() - b * blocks);
                    Batch batch = new Batch(tag + "/" + b, results.get(b), count);
                    out.batches.add(batch);
                    for (int j = 0; j < count; j++) {
                        Member m = members.get(b * blocks + j);
                        out.slots.put(m.doc(), new Slot(batch, j));
                    }
                    PluginStats.CKKS_RESULT_BYTES.add(batch.ciphertext.length);
                }
                PluginStats.CKKS_BATCHES.add(results.size());
            } finally {
                loaded.values().forEach(CkksQuery::close);
            }
            return out;
        }
    }

    /** Adds {@value HitField#NAME} to each hit; a ckks batch's ciphertext goes on the first of its hits that is fetched. */
    static final class Processor implements FetchSubPhaseProcessor {
        private final EncryptedKnnRescorer.Context context;
        private final Batches batches; // ckks mode only
        private EncryptedKnnRescorer.LeafCursor cursor;
        private BinaryDocValues nonces;
        private int lastDoc;

        Processor(EncryptedKnnRescorer.Context context, Batches batches) {
            this.context = context;
            this.batches = batches;
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
            boolean probed = batches == null ? rescored && score.probed() : batches.slots.containsKey(doc);
            value.put(HitField.PROBED.key(), probed);
            if (rescored && !probed) {
                value.put(HitField.KEYED_RESIDUAL.key(), EncryptedVector.encodeFloats(cursor.residual()));
            }
            if (batches == null) {
                if (probed) {
                    value.put(HitField.RESIDUAL.key(), score.residualTerm());
                }
            } else {
                Slot slot = batches.slots.get(doc);
                if (slot != null) {
                    Batch batch = slot.batch();
                    value.put(HitField.BATCH.key(), batch.id);
                    value.put(HitField.SLOT.key(), slot.slot());
                    if (!batch.emitted) {
                        batch.emitted = true;
                        value.put(HitField.COUNT.key(), batch.count);
                        value.put(
                                HitField.CIPHERTEXT.key(), batch.ciphertext); // base64 in JSON, raw bytes in CBOR/SMILE
                    }
                }
            }
            if (!rescored) {
                value.put(HitField.RESCORED.key(), false);
            }
            hitContext.hit().setDocumentField(HitField.NAME, new DocumentField(HitField.NAME, List.of(value)));
        }
    }
}
