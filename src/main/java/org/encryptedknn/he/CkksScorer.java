package org.encryptedknn.he;

import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

import java.util.ArrayList;
import java.util.List;

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
     * Java-only pre-check of untrusted query bytes (size bound for this context and the SEAL header), no native call;
     * {@link #loadQuery} repeats it and then lets the native side validate the rest.
     */
    public void checkQueryBytes(byte[] queryCiphertext) {
        SealHeader.check(queryCiphertext, context.maxQueryBytes(), "query ciphertext");
    }

    /** Loads (and validates) a query ciphertext from untrusted bytes, for use with {@link #score(CkksQuery, List)}. */
    public CkksQuery loadQuery(byte[] queryCiphertext) {
        return CkksQuery.load(context, queryCiphertext);
    }

    /**
     * Scores {@code candidates} (each of length ≤ B; shorter ones are zero-padded) against the
     * query: returns ⌈n / blocks⌉ result ciphertexts, batch i holding candidates
     * [i·blocks, (i+1)·blocks) in its blocks. Decrypt with {@link CkksKeyHolder#decryptScores}.
     */
    public List<byte[]> score(byte[] queryCiphertext, List<float[]> candidates) {
        try (CkksQuery q = loadQuery(queryCiphertext)) {
            return score(q, candidates);
        }
    }

    /** As {@link #score(byte[], List)}, with an already loaded query. */
    public List<byte[]> score(CkksQuery query, List<float[]> candidates) {
        if (query.context() != context) {
            throw new HeException(HeException.Kind.MISMATCH, "query was loaded under another context");
        }
        int blocks = context.blocks();
        int width = context.blockWidth();
        List<byte[]> out = new ArrayList<>((candidates.size() + blocks - 1) / blocks);
        for (int start = 0; start < candidates.size(); start += blocks) {
            int count = Math.min(blocks, candidates.size() - start);
            int dim = 0;
            for (int j = 0; j < count; j++) {
                float[] v = candidates.get(start + j);
                if (v == null || v.length == 0 || v.length > width) {
                    throw new HeException(HeException.Kind.INVALID_ARGUMENT, "candidate " + (start + j) + " length must be 1.."
                        + width + ", got " + (v == null ? "null" : v.length));
                }
                dim = Math.max(dim, v.length);
            }
            float[] flat = new float[count * dim];
            for (int j = 0; j < count; j++) {
                float[] v = candidates.get(start + j);
                System.arraycopy(v, 0, flat, j * dim, v.length);
            }
            final int c = count;
            final int d = dim;
            out.add(context.use(ctx -> query.use(q -> {
                PointerByReference data = new PointerByReference();
                LongByReference len = new LongByReference();
                Natives.check(Natives.lib().eks_score_batch(ctx, q, flat, c, d, data, len), "score batch");
                return Natives.take(data, len);
            })));
        }
        return out;
    }
}
