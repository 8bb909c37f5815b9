package org.encryptedknn.he;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.encryptedknn.concurrent.ParallelWork;

/**
 * Data-node side of the CKKS rescoring. Holds no key at all (no secret, Galois or
 * relinearization key): it multiplies the key holder's encrypted query by packed plaintext
 * candidates and returns ciphertexts it cannot read. Thread-safe.
 */
public final class CkksScorer {

    private final CkksContext context;

    public CkksScorer(CkksContext context) {
        this.context = context;
    }

    public CkksContext context() {
        return context;
    }

    /**
     * Java-only pre-check of untrusted query bytes (bounded wire unpacking, size bound for this context, SEAL header),
     * no native call; {@link #loadQuery} repeats it and then lets the native side validate the rest.
     */
    public void checkQueryBytes(byte[] queryCiphertext) {
        CkksQuery.checkedSealBytes(context, queryCiphertext);
    }

    /** Loads (and validates) a query ciphertext from untrusted bytes, for use with {@link #score(List)}. */
    public CkksQuery loadQuery(byte[] queryCiphertext) {
        return CkksQuery.load(context, queryCiphertext);
    }

    /** One candidate: its residual (length ≤ B, zero-padded) and the loaded query of its cell. */
    public record Candidate(CkksQuery query, float[] residual) {}

    /** {@link #score(List)} of candidates that all share one query (one cell). */
    public List<byte[]> score(byte[] queryCiphertext, List<float[]> residuals) {
        try (CkksQuery q = loadQuery(queryCiphertext)) {
            return score(q, residuals);
        }
    }

    /** {@link #score(List)} of candidates that all share {@code query}. */
    public List<byte[]> score(CkksQuery query, List<float[]> residuals) {
        return score(residuals.stream().map(r -> new Candidate(query, r)).toList());
    }

    /**
     * Scores {@code candidates} in order, ⌊(N − 1)/B⌋ at a time: result ciphertext i holds candidates
     * [i·blocks, (i+1)·blocks) in its blocks, each multiplied by its own query, so candidates of different cells share
     * a result (one {@code multiply_plain} per distinct query in the batch, the products summed). Order the
     * candidates by query to keep that number small. Decrypt with {@link CkksKeyHolder#decryptBatch}.
     */
    public List<byte[]> score(List<Candidate> candidates) {
        return score(candidates, null);
    }

    /**
     * {@link #score(List)} with the batches spread over {@code executor} and the calling thread ({@link ParallelWork}:
     * a batch no helper has started when the caller gets to it is scored by the caller); {@code null}, or a single
     * batch, scores them all on the calling thread. The results are in batch order either
     * way, and each batch is the same computation, so the ciphertexts do not depend on the threads.
     */
    public List<byte[]> score(List<Candidate> candidates, Executor executor) {
        int blocks = context.blocks();
        List<List<Candidate>> batches = new ArrayList<>();
        for (int start = 0; start < candidates.size(); start += blocks) {
            batches.add(candidates.subList(start, Math.min(candidates.size(), start + blocks)));
        }
        byte[][] out = new byte[batches.size()][];
        // every batch may go to a helper; ParallelWork returns only when none is still running, so no batch outlives
        // the caller's query handles
        ParallelWork.forEach(
                batches.size(), b -> out[b] = scoreBatch(batches.get(b), b * blocks), executor, batches.size() - 1);
        return List.of(out);
    }

    /** One result ciphertext for {@code batch}, whose first candidate is number {@code start} of the request. */
    private byte[] scoreBatch(List<Candidate> batch, int start) {
        int width = context.blockWidth();
        int dim = 0;
        for (int j = 0; j < batch.size(); j++) {
            Candidate c = batch.get(j);
            float[] v = c.residual();
            if (v == null || v.length == 0 || v.length > width) {
                throw new HeException(
                        HeException.Kind.INVALID_ARGUMENT,
                        "candidate " + (start + j) + " length must be 1.." + width + ", got "
                                + (v == null ? "null" : v.length));
            }
            if (c.query().context() != context) {
                throw new HeException(HeException.Kind.MISMATCH, "query was loaded under another context");
            }
            dim = Math.max(dim, v.length);
        }
        List<CkksQuery> queries = new ArrayList<>();
        int[] owner = new int[batch.size()];
        float[] flat = new float[batch.size() * dim];
        for (int j = 0; j < batch.size(); j++) {
            int q = queries.indexOf(batch.get(j).query());
            if (q < 0) {
                q = queries.size();
                queries.add(batch.get(j).query());
            }
            owner[j] = q;
            System.arraycopy(
                    batch.get(j).residual(), 0, flat, j * dim, batch.get(j).residual().length);
        }
        final int d = dim;
        byte[] raw = context.use(ctx -> withPointers(queries, 0, new Pointer[queries.size()], qs -> {
            PointerByReference data = new PointerByReference();
            LongByReference len = new LongByReference();
            Natives.check(
                    Natives.lib().eks_score_batch(ctx, qs, qs.length, owner, flat, owner.length, d, data, len),
                    "score batch");
            return Natives.take(data, len);
        }));
        return CiphertextWire.pack(raw);
    }

    /** Runs {@code f} with the live pointers of {@code queries} (each held for the duration of the call). */
    private static <T> T withPointers(List<CkksQuery> queries, int i, Pointer[] acc, Function<Pointer[], T> f) {
        if (i == queries.size()) {
            return f.apply(acc);
        }
        return queries.get(i).use(p -> {
            acc[i] = p;
            return withPointers(queries, i + 1, acc, f);
        });
    }
}
