package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executor;
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
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.transform.ResidualLayout;

/**
 * The homomorphic half of ckks mode, for one shard's rescore window (run by the fetch sub-phase, for the hits it
 * returns):
 * <ol>
 *   <li>reads each window hit's record {@code [cell][epoch][z]} and groups the hits of probed cells by cell, in doc-id
 *       order;</li>
 *   <li>loads each cell's query ciphertext (native validating load; every cell sent is loaded, so a bad ciphertext is a
 *       400 on every shard, not only where that cell has hits) and packs the residuals ⌊(N − 1)/B⌋ at a time, in cell
 *       order, across cells: each block is multiplied by its own cell's query and the products of a batch are summed
 *       into one result ciphertext ({@link CkksScorer#score}), so the response carries ⌈hits/blocks⌉ ciphertexts
 *       however the hits spread over cells;</li>
 *   <li>a probed hit's field gets {@code "batch":"<index>/<shard>/<n>","slot":2}, and the first returned hit of each
 *       batch also {@code "count":14,"ciphertext":<bytes>} (base64 text in JSON, a byte string in CBOR).</li>
 * </ol>
 * Each batch ciphertext appears once per response; batch ids are unique per shard, and the hits of one batch all come
 * from one shard, so the coordinator's merge of shard results keeps every reference resolvable.
 */
final class CkksWindowBatches implements CandidateScoring.HitDetails {

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

    private record Member(int doc, int cell, float[] z) {}

    final Map<Integer, Slot> slots = new HashMap<>(); // top-level doc id → slot
    final List<Batch> batches = new ArrayList<>();

    static CkksWindowBatches compute(
            IndexReader reader,
            CkksRescorePayload query,
            String vectorField,
            Set<Integer> window,
            String tag,
            Executor executor)
            throws IOException {
        CkksWindowBatches out = new CkksWindowBatches();
        int[] docs = (window == null ? Set.<Integer>of() : window)
                .stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(docs);

        // 1. the window's probed hits, grouped by cell (doc-id order: doc values only move forward)
        String field = ResidualDocValues.residualField(vectorField);
        List<LeafReaderContext> leaves = reader.leaves();
        Map<Integer, List<Member>> byCell = new TreeMap<>();
        LeafReaderContext leaf = null;
        BinaryDocValues values = null;
        Integer queryEpoch = query.epoch();
        double maxAbs = query.context().maxAbsValue();
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
                float[] z = record.z();
                // a component CKKS cannot encode (beyond the context's bound) would fail the whole batch natively:
                // the hit stays out of the batches, so it is returned unprobed, with its z, for the key holder
                if (encodable(z, maxAbs)) {
                    byCell.computeIfAbsent(cell, c -> new ArrayList<>()).add(new Member(doc, cell, z));
                } else {
                    PluginStats.CKKS_UNENCODABLE_HITS.increment();
                }
            }
        }

        // 2. every query ciphertext is loaded (validated), then the hits are scored in cell order, ⌊(N − 1)/B⌋ a batch
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
            List<byte[]> results = scorer.score(candidates, executor);
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

    /** Every component finite and within ±{@code maxAbs}, the CKKS context's bound on a candidate's values. */
    static boolean encodable(float[] z, double maxAbs) {
        for (float v : z) {
            if (!(Math.abs(v) <= maxAbs)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean probed(int doc, EncryptedKnnRescorer.HitScore score, boolean rescored) {
        return slots.containsKey(doc);
    }

    @Override
    public void addTo(Map<String, Object> value, int doc, EncryptedKnnRescorer.HitScore score) {
        Slot slot = slots.get(doc);
        Batch batch = slot.batch();
        value.put(HitField.BATCH.key(), batch.id);
        value.put(HitField.SLOT.key(), slot.slot());
        if (!batch.emitted) {
            batch.emitted = true;
            value.put(HitField.COUNT.key(), batch.count);
            value.put(HitField.CIPHERTEXT.key(), batch.ciphertext); // base64 in JSON, raw bytes in CBOR/SMILE
        }
    }
}
