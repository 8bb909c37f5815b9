package org.encryptedknn.search;

import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.util.BytesRef;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksQuery;
import org.encryptedknn.he.CkksScorer;
import org.encryptedknn.he.HeException;
import org.encryptedknn.index.ResidualDocValues;
import org.encryptedknn.plugin.PluginStats;
import org.opensearch.common.document.DocumentField;
import org.opensearch.search.fetch.FetchContext;
import org.opensearch.search.fetch.FetchSubPhase;
import org.opensearch.search.fetch.FetchSubPhaseProcessor;
import org.opensearch.search.rescore.RescoreContext;

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

/**
 * The homomorphic half of {@code mode: ckks} (docs/ckks-mode.md), as a fetch sub-phase of the data node.
 *
 * <p>When the search has a ckks-mode {@code encrypted_knn} rescorer, this sub-phase
 * <ol>
 *   <li>takes the shard's rescore window from the rescore context ({@link RescoreContext#getRescoredDocs()}: set by the
 *       rescorer when query and fetch share a search context, restored from the query result's rescore doc ids when
 *       the fetch phase runs in a new one);</li>
 *   <li>reads each window hit's record {@code [cell][epoch][z]} and groups the hits of probed cells by cell, in doc-id
 *       order;</li>
 *   <li>loads each cell's query ciphertext (native validating load; every cell sent is loaded, so a bad ciphertext is a
 *       400 on every shard, not only where that cell has hits) and packs the residuals ⌊slots/B⌋ at a time, in cell
 *       order, across cells: each block is multiplied by its own cell's query and the products of a batch are summed
 *       into one result ciphertext ({@link CkksScorer#score}), so the response carries ⌈hits/blocks⌉ ciphertexts
 *       however the hits spread over cells;</li>
 *   <li>adds the document field {@value #FIELD} to each returned hit:
 *       {@code {"probed":true,"cell":17,"batch":"<index>/<shard>/<n>","slot":2}}, and on the first returned hit of each
 *       batch also {@code "count":7,"ciphertext":"<b64>"}; a hit of a cell that was not probed (or of another epoch, or
 *       outside the window) gets {@code {"probed":false,"cell":c,"rescored":…}}.</li>
 * </ol>
 * Each batch ciphertext appears once per response; batch ids are unique per shard, and the hits of one batch all come
 * from one shard, so the coordinator's merge of shard results keeps every reference resolvable.
 */
public final class CkksFetchSubPhase implements FetchSubPhase {

    /** The per-hit document field. */
    public static final String FIELD = "_encrypted_knn";

    /** True when a stored residual record can be packed into a block of the query's parameters. */
    static boolean residualFits(BytesRef record, CkksRescoreQuery query) {
        int length = ResidualDocValues.residualLength(record);
        return length >= 1 && length <= query.parameters().blockWidth();
    }

    @Override
    public FetchSubPhaseProcessor getProcessor(FetchContext fetchContext) throws IOException {
        List<RescoreContext> rescores = fetchContext.rescore();
        if (rescores == null || rescores.isEmpty()) {
            return null;
        }
        EncryptedKnnRescorer.Context context = null;
        for (RescoreContext rc : rescores) {
            if (rc instanceof EncryptedKnnRescorer.Context c && c.mode() == RescoreMode.CKKS) {
                if (context != null) {
                    throw CkksRescoreQuery.bad("rescore", "at most one encrypted_knn rescorer in ckks mode per request");
                }
                context = c;
            }
        }
        if (context == null) {
            return null;
        }
        String tag = fetchContext.getIndexName() + "/" + fetchContext.getQueryShardContext().getShardId();
        long start = System.nanoTime();
        try {
            Batches batches = Batches.compute(fetchContext.searcher().getIndexReader(), context, tag);
            return new Processor(context, batches);
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

    record Slot(Batch batch, int slot, int cell) {}

    /** The batches of one shard's window, and where each window hit's score lives. */
    static final class Batches {
        final Map<Integer, Slot> slots = new HashMap<>(); // top-level doc id → slot
        final List<Batch> batches = new ArrayList<>();
        final Set<Integer> window;

        private Batches(Set<Integer> window) {
            this.window = window;
        }

        private record Member(int doc, int cell, float[] z) {}

        static Batches compute(IndexReader reader, EncryptedKnnRescorer.Context context, String tag) throws IOException {
            CkksRescoreQuery query = context.ckksQuery();
            Set<Integer> window = context.getRescoredDocs();
            Batches out = new Batches(window == null ? Set.of() : window);
            int[] docs = out.window.stream().mapToInt(Integer::intValue).toArray();
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
                BytesRef record = values.binaryValue();
                int cell = ResidualDocValues.cell(record);
                int epoch = ResidualDocValues.epoch(record);
                if (query.cells().containsKey(cell) && (queryEpoch == null || queryEpoch == epoch) && residualFits(record, query)) {
                    byCell.computeIfAbsent(cell, c -> new ArrayList<>()).add(new Member(doc, cell, ResidualDocValues.residual(record)));
                }
            }

            // 2. every query ciphertext is loaded (validated), then the hits are scored in cell order, ⌊slots/B⌋ a batch
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
                            throw CkksRescoreQuery.bad("rescore.encrypted_knn.query.cells[" + e.getKey() + "]", he.getMessage());
                        }
                        throw he;
                    }
                }
                List<Member> members = byCell.values().stream().flatMap(List::stream).toList();
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
                        out.slots.put(m.doc(), new Slot(batch, j, m.cell()));
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

    /** Adds {@value #FIELD} to each hit; the ciphertext of a batch goes on the first of its hits that is fetched. */
    static final class Processor implements FetchSubPhaseProcessor {
        private final EncryptedKnnRescorer.Context context;
        private final Batches batches;
        private final String residualField;
        private BinaryDocValues values;

        Processor(EncryptedKnnRescorer.Context context, Batches batches) {
            this.context = context;
            this.batches = batches;
            this.residualField = ResidualDocValues.residualField(context.spec().field());
        }

        @Override
        public void setNextReader(LeafReaderContext readerContext) throws IOException {
            values = readerContext.reader().getBinaryDocValues(residualField);
        }

        @Override
        public void process(HitContext hitContext) throws IOException {
            int doc = hitContext.docId() + hitContext.readerContext().docBase;
            Map<String, Object> value = new LinkedHashMap<>();
            Slot slot = batches.slots.get(doc);
            if (slot != null) {
                Batch batch = slot.batch();
                value.put("probed", true);
                value.put("cell", slot.cell());
                value.put("batch", batch.id);
                value.put("slot", slot.slot());
                if (!batch.emitted) {
                    batch.emitted = true;
                    value.put("count", batch.count);
                    value.put("ciphertext", Base64.getEncoder().encodeToString(batch.ciphertext));
                }
            } else {
                value.put("probed", false);
                if (values != null && values.advanceExact(hitContext.docId())) {
                    value.put("cell", ResidualDocValues.cell(values.binaryValue()));
                }
                value.put("rescored", batches.window.contains(doc));
            }
            hitContext.hit().setDocumentField(FIELD, new DocumentField(FIELD, List.of(value)));
        }
    }
}
