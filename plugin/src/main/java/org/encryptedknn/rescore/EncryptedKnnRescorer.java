package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.search.rescore.RescoreContext;
import org.opensearch.search.rescore.Rescorer;

/**
 * Rescoring of the top {@code window_size} hits of a shard; what is computed per candidate is the mode's
 * {@link CandidateScoring}.
 *
 * <p>Score of hit i with record (c_i, e_i, z_i) and prefix ciphertext p_i:
 * <pre>  ⟨prefix, p_i⟩ + ⟨cells[c_i], z_i⟩   if cell c_i is in the query (and e_i is the query's epoch, when given)
 *   ⟨prefix, p_i⟩                    otherwise (an "unprobed" hit)</pre>
 * accumulated in double, reported as float. The key holder recognises unprobed hits from {@code c} (and {@code e}) in
 * {@code _source}: a hit whose c is not among the cells it sent carries the prefix part only. A window hit without an
 * encrypted vector scores {@code -Float.MAX_VALUE}.
 *
 * <p>The window is sorted by the new score, descending (ties by doc id). Hits beyond the window follow in their
 * first-pass order; their scores are lowered below the window's last score so the top docs stay sorted, as the
 * rescore phase requires (first-pass HNSW scores and rescored dot products are not comparable anyway).
 *
 * <p>CKKS mode: the data node cannot see the residual term, so the window is ordered by the prefix approximation
 * ⟨prefix, p_i⟩ alone (the same walk, residual term 0) and the rescored doc ids are recorded. The homomorphic part runs
 * in {@link EncryptedKnnFetchSubPhase}, which reads this context (or its rebuilt copy, when the fetch phase runs in a new
 * search context) and attaches the result ciphertexts to the returned hits (docs/ckks-mode.md).
 */
public final class EncryptedKnnRescorer implements Rescorer {

    public static final EncryptedKnnRescorer INSTANCE = new EncryptedKnnRescorer();

    /** Score of a window hit that has no encrypted vector in the field. */
    public static final float MISSING_SCORE = -Float.MAX_VALUE;

    private EncryptedKnnRescorer() {}

    /** Per-request, per-shard state: the field and the mode's {@link CandidateScoring}. */
    public static final class Context extends RescoreContext {
        private final EncryptedFieldSpec spec;
        private final CandidateScoring<?> scoring;

        Context(int windowSize, EncryptedFieldSpec spec, CandidateScoring<?> scoring) {
            super(windowSize, INSTANCE);
            this.spec = spec;
            this.scoring = scoring;
        }

        public EncryptedFieldSpec spec() {
            return spec;
        }

        /** What this node does with each window candidate, by the request's mode. */
        public CandidateScoring<?> scoring() {
            return scoring;
        }
    }

    /** The parts of one hit's score. */
    public record HitScore(
            boolean hasVector, double prefixTerm, double residualTerm, int cell, int epoch, boolean probed) {
        float total() {
            return hasVector ? (float) (prefixTerm + residualTerm) : MISSING_SCORE;
        }
    }

    @Override
    public TopDocs rescore(TopDocs topDocs, IndexSearcher searcher, RescoreContext rescoreContext) throws IOException {
        if (topDocs == null || topDocs.scoreDocs.length == 0) {
            return topDocs;
        }
        Context context = (Context) rescoreContext;
        ScoreDoc[] all = topDocs.scoreDocs;
        int window = Math.min(context.getWindowSize(), all.length);
        ScoreDoc[] head = Arrays.copyOf(all, window);

        // Walk the window in doc-id order: doc values and vector iterators only move forward.
        ScoreDoc[] byDoc = head.clone();
        Arrays.sort(byDoc, Comparator.comparingInt(sd -> sd.doc));
        List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
        LeafCursor cursor = null;
        Set<Integer> rescored = new HashSet<>();
        long unprobed = 0;
        for (ScoreDoc hit : byDoc) {
            LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(hit.doc, leaves));
            if (cursor == null || cursor.leaf != leaf) {
                cursor = new LeafCursor(leaf, context.spec().field());
            }
            HitScore score = cursor.score(hit.doc - leaf.docBase, context);
            if (score.hasVector() && !score.probed()) {
                unprobed++;
            }
            hit.score = score.total();
            rescored.add(hit.doc);
        }
        context.setRescoredDocs(rescored);
        context.scoring().countRequest();
        PluginStats.RESCORED_HITS.add(window);
        PluginStats.RESCORED_HITS_UNPROBED_CELL.add(unprobed);

        Arrays.sort(head, (a, b) -> {
            int cmp = Float.compare(b.score, a.score);
            return cmp != 0 ? cmp : Integer.compare(a.doc, b.doc);
        });
        ScoreDoc[] out = Arrays.copyOf(head, all.length);
        float floor = head[window - 1].score;
        for (int i = window; i < all.length; i++) {
            ScoreDoc tail = all[i];
            floor = Math.nextDown(floor);
            out[i] = new ScoreDoc(tail.doc, floor, tail.shardIndex);
        }
        return new TopDocs(topDocs.totalHits, out);
    }

    @Override
    public Explanation explain(
            int topLevelDocId, IndexSearcher searcher, RescoreContext rescoreContext, Explanation sourceExplanation)
            throws IOException {
        Context context = (Context) rescoreContext;
        if (!context.isRescored(topLevelDocId)) {
            return sourceExplanation == null ? Explanation.noMatch("not in the rescore window") : sourceExplanation;
        }
        List<LeafReaderContext> leaves = searcher.getIndexReader().leaves();
        LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(topLevelDocId, leaves));
        HitScore score = new LeafCursor(leaf, context.spec().field()).score(topLevelDocId - leaf.docBase, context);
        if (!score.hasVector()) {
            return Explanation.match(
                    MISSING_SCORE,
                    "encrypted_knn " + context.scoring().modeName() + " rescore: no encrypted vector in ["
                            + context.spec().field() + "]");
        }
        Explanation prefix = Explanation.match((float) score.prefixTerm(), "<prefix, p> (approximate prefix term)");
        return context.scoring().explain(score, prefix);
    }

    /** Forward-only access to one segment's prefixes and residual records. */
    public static final class LeafCursor {
        final LeafReaderContext leaf;
        final BinaryDocValues residuals;
        final FloatVectorValues vectors;
        final KnnVectorValues.DocIndexIterator vectorIterator;

        public LeafCursor(LeafReaderContext leaf, String field) throws IOException {
            this.leaf = leaf;
            this.residuals = leaf.reader().getBinaryDocValues(ResidualDocValues.residualField(field));
            this.vectors = leaf.reader().getFloatVectorValues(field);
            this.vectorIterator = vectors == null ? null : vectors.iterator();
        }

        /**
         * Moves to {@code doc} (segment-local; not before the previous call's doc); true when it has an encrypted
         * vector, whose {@link #prefix} and {@link #record} are then readable.
         */
        public boolean advance(int doc) throws IOException {
            if (vectors == null || residuals == null || !residuals.advanceExact(doc)) {
                return false;
            }
            int at = vectorIterator.docID() < doc ? vectorIterator.advance(doc) : vectorIterator.docID();
            return at == doc && at != DocIdSetIterator.NO_MORE_DOCS;
        }

        /** The stored prefix ciphertext p of the doc {@link #advance}d to (Lucene's buffer: copy to keep it). */
        public float[] prefix() throws IOException {
            return vectors.vectorValue(vectorIterator.index());
        }

        /** The {@code ._residual} record of the doc {@link #advance}d to, read in place. */
        public ResidualLayout.Residual record() throws IOException {
            return ResidualDocValues.residual(residuals.binaryValue());
        }

        /** Scores {@code doc} (segment-local; not before the previous call's doc). */
        public HitScore score(int doc, Context context) throws IOException {
            return advance(doc) ? score(context) : new HitScore(false, 0, 0, -1, -1, false);
        }

        /** Scores the doc {@link #advance}d to, which has an encrypted vector. */
        public HitScore score(Context context) throws IOException {
            float[] p = prefix();
            double prefixTerm = 0;
            CandidateScoring<?> scoring = context.scoring();
            float[] q = scoring.payload().prefix();
            for (int i = 0; i < q.length; i++) {
                prefixTerm += (double) q[i] * p[i];
            }
            ResidualLayout.Residual record = record();
            int cell = record.cell();
            int epoch = record.epoch();
            Integer queryEpoch = scoring.payload().epoch();
            CandidateScoring.Residual residual =
                    queryEpoch == null || queryEpoch == epoch ? scoring.residual(record) : CandidateScoring.UNPROBED;
            return new HitScore(true, prefixTerm, residual.term(), cell, epoch, residual.probed());
        }
    }
}
