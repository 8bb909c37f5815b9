package org.encryptedknn.he;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.Test;

/** Decrypted packed products equal plaintext inner products within 1e-4 absolute. */
public class CkksAccuracyTest {

    private static final double TOLERANCE = 1e-4;
    private static final int DIM = 288; // the unpadded d − d_pub of the default model; shorter than a block is fine

    @Test
    public void sealVersionIsRecorded() {
        assertEquals("4.1.2", NativeMemory.sealVersion());
    }

    @Test
    public void defaultsN4096() {
        CkksParameters p = CkksParameters.defaults();
        assertEquals(4096, p.polyDegree());
        assertEquals(14, p.blocks());
        checkAccuracy(p, new Random(1));
    }

    @Test
    public void n8192() {
        CkksParameters p = CkksParameters.n8192(DIM);
        assertEquals(28, p.blocks());
        checkAccuracy(p, new Random(2));
    }

    /** B divides N: one block fewer than N/B, so that no product wraps around X^N + 1. */
    @Test
    public void powerOfTwoBlockWidth() {
        assertEquals(7, CkksParameters.n4096(512).blocks());
        checkAccuracy(CkksParameters.n4096(512), new Random(3));
    }

    private static void checkAccuracy(CkksParameters params, Random rnd) {
        try (CkksContext ctx = CkksContext.create(params);
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
            CkksScorer scorer = new CkksScorer(ctx);
            int blocks = ctx.blocks();
            double maxErr = 0;
            // full batch, partial batch, a single vector, several batches (K = 100), short vectors
            int[] sizes = {blocks, blocks - 3, 1, 100, 2 * blocks + 1};
            for (int n : sizes) {
                for (int trial = 0; trial < 3; trial++) {
                    float[] q = HeTestVectors.residual(rnd, DIM);
                    List<float[]> cands = HeTestVectors.residuals(rnd, n, DIM);
                    byte[] query = kh.encryptQuery(q);
                    assertTrue("query fits the bound", query.length <= ctx.maxQueryBytes());
                    List<byte[]> results = scorer.score(query, cands);
                    assertEquals((n + blocks - 1) / blocks, results.size());
                    double[] scores = kh.decryptScores(results, n);
                    for (int i = 0; i < n; i++) {
                        double exact = HeTestVectors.dot(q, cands.get(i));
                        double err = Math.abs(scores[i] - exact);
                        maxErr = Math.max(maxErr, err);
                        if (err > TOLERANCE) {
                            fail("candidate " + i + " of " + n + ": decrypted " + scores[i] + " vs exact " + exact);
                        }
                    }
                }
            }
            // vectors shorter than B (zero padded) and fewer than blocks in the last batch
            float[] q = Arrays.copyOf(HeTestVectors.residual(rnd, 100), 100);
            List<float[]> shortCands = HeTestVectors.residuals(rnd, 3, 60);
            double[] s = kh.decryptScores(scorer.score(kh.encryptQuery(q), shortCands), 3);
            for (int i = 0; i < 3; i++) {
                assertEquals(HeTestVectors.dot(q, shortCands.get(i)), s[i], TOLERANCE);
            }
            System.out.printf(
                    "N=%d B=%d blocks=%d max |error| = %.3e%n",
                    params.polyDegree(), params.blockWidth(), blocks, maxErr);
        }
    }

    /** Candidates of several cells share result ciphertexts: each block is scored against its own cell's query. */
    @Test
    public void candidatesOfSeveralCellsShareABatch() {
        Random rnd = new Random(6);
        try (CkksContext ctx = CkksContext.createDefault();
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
            CkksScorer scorer = new CkksScorer(ctx);
            List<float[]> queries = HeTestVectors.residuals(rnd, 3, DIM);
            List<CkksQuery> loaded = new java.util.ArrayList<>();
            try {
                for (float[] q : queries) {
                    loaded.add(scorer.loadQuery(kh.encryptQuery(q)));
                }
                // 17 candidates: cells 0,0,0,1,1,2,… (sorted by cell, as the data node orders them), one all-zero
                // residual
                List<CkksScorer.Candidate> cands = new java.util.ArrayList<>();
                List<Integer> owner = new java.util.ArrayList<>();
                for (int i = 0; i < 17; i++) {
                    int cell = i < 8 ? 0 : i < 11 ? 1 : 2;
                    float[] z = i == 9 ? new float[DIM] : HeTestVectors.residual(rnd, DIM);
                    cands.add(new CkksScorer.Candidate(loaded.get(cell), z));
                    owner.add(cell);
                }
                List<byte[]> results = scorer.score(cands);
                assertEquals(2, results.size());
                double[] scores = kh.decryptScores(results, cands.size());
                for (int i = 0; i < cands.size(); i++) {
                    assertEquals(
                            "candidate " + i,
                            HeTestVectors.dot(
                                    queries.get(owner.get(i)), cands.get(i).residual()),
                            scores[i],
                            TOLERANCE);
                }
            } finally {
                loaded.forEach(CkksQuery::close);
            }
        }
    }

    @Test
    public void secretKeyRoundTripAndSeededUploadIsSmall() {
        Random rnd = new Random(4);
        try (CkksContext ctx = CkksContext.createDefault();
                CkksSecretKey sk = CkksSecretKey.generate(ctx)) {
            byte[] keyBytes = sk.toBytes();
            try (CkksSecretKey sk2 = CkksSecretKey.load(ctx, keyBytes);
                    CkksKeyHolder a = new CkksKeyHolder(ctx, sk);
                    CkksKeyHolder b = new CkksKeyHolder(ctx, sk2)) {
                assertArrayEquals(keyBytes, sk2.toBytes());
                float[] q = HeTestVectors.residual(rnd, DIM);
                List<float[]> cands = HeTestVectors.residuals(rnd, 5, DIM);
                byte[] query = a.encryptQuery(q);
                // seeded symmetric encryption (one polynomial + a seed instead of two), each coefficient in the
                // prime's 50 bits on the wire instead of a 64-bit word
                long packedPolynomial = 4096L * 50 / 8;
                assertTrue("seeded query " + query.length + " B", query.length < packedPolynomial + 1024);
                List<byte[]> results = new CkksScorer(ctx).score(query, cands);
                // the result: two polynomials of 50-bit coefficients
                assertTrue("result " + results.get(0).length + " B", results.get(0).length < 2 * 4096L * 50 / 8 + 1024);
                double[] s = b.decryptScores(results, 5);
                for (int i = 0; i < 5; i++) {
                    assertEquals(HeTestVectors.dot(q, cands.get(i)), s[i], TOLERANCE);
                }
            } finally {
                Arrays.fill(keyBytes, (byte) 0);
            }
        }
    }

    /**
     * Secret keys and queries written by the library's earlier SEAL 4.0 build (every SEAL header, the object's and
     * those of its nested DynArray and PRNG seed, says 4.0; the layout is the same as 4.1's) still load and decrypt;
     * other versions are refused. (Checked once against the SEAL 4.0 library itself: native/README.md.)
     */
    @Test
    public void sealFourZeroSerializationsStillLoad() {
        Random rnd = new Random(9);
        try (CkksContext ctx = CkksContext.createDefault();
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk, 0)) {
            byte[] key = sk.toBytes();
            float[] q = HeTestVectors.residual(rnd, DIM);
            List<float[]> cands = HeTestVectors.residuals(rnd, 5, DIM);
            byte[] query = CiphertextWire.unpack(kh.encryptQuery(q), ctx.maxQueryBytes(), "query");
            // the headers: the key's and its coefficients'; the query's, its polynomial's (after parms_id, NTT flag,
            // size, N, primes, scale, correction factor) and its seed's (after 4096 coefficients and their count)
            int[] keyHeaders = {0, 16 + 32 + 8 + 8};
            int[] queryHeaders = {0, 16 + 32 + 1 + 5 * 8, 16 + 32 + 1 + 5 * 8 + 16 + 8 + 4096 * 8};
            asSealFourZero(key, keyHeaders);
            asSealFourZero(query, queryHeaders);
            CkksScorer scorer = new CkksScorer(ctx);
            try (CkksSecretKey oldKey = CkksSecretKey.load(ctx, key);
                    CkksKeyHolder oldHolder = new CkksKeyHolder(ctx, oldKey, 0)) {
                double[] s = oldHolder.decryptScores(scorer.score(CiphertextWire.pack(query), cands), 5);
                for (int i = 0; i < 5; i++) {
                    assertEquals(HeTestVectors.dot(q, cands.get(i)), s[i], TOLERANCE);
                }
            } finally {
                Arrays.fill(key, (byte) 0);
            }
            for (int[] version : new int[][] {{4, 2}, {3, 6}, {5, 0}}) {
                query[3] = (byte) version[0];
                query[4] = (byte) version[1];
                assertEquals(
                        HeException.Kind.MALFORMED,
                        expect(() -> scorer.loadQuery(CiphertextWire.pack(query)))
                                .kind());
            }
        }
    }

    /** Sets the version of the SEAL headers at {@code offsets} (written as 4.1) to 4.0. */
    private static void asSealFourZero(byte[] serialized, int[] offsets) {
        for (int at : offsets) {
            assertEquals("SEAL header at " + at, 0xA15E, (serialized[at] & 0xff) | (serialized[at + 1] & 0xff) << 8);
            assertEquals("written as SEAL 4.1 at " + at, 1, serialized[at + 4]);
            serialized[at + 4] = 0;
        }
    }

    /**
     * Queries encrypted on prepared encryptions of zero decrypt exactly; a prepared one is refused a second time, and
     * by another key holder.
     */
    @Test
    public void preparedEncryptionsOfZeroAreUsedOnce() throws InterruptedException {
        Random rnd = new Random(8);
        try (CkksContext ctx = CkksContext.createDefault();
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk, 4);
                CkksKeyHolder none = new CkksKeyHolder(ctx, sk, 0)) {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (kh.preparedCount() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(4, kh.preparedCount());
            assertEquals(0, none.preparedCount());
            CkksScorer scorer = new CkksScorer(ctx);
            for (CkksKeyHolder holder : List.of(kh, none)) {
                for (int i = 0; i < 6; i++) { // more than the stock: the last ones may be encrypted from scratch
                    float[] q = HeTestVectors.residual(rnd, DIM);
                    List<float[]> cands = HeTestVectors.residuals(rnd, 3, DIM);
                    double[] s = kh.decryptScores(scorer.score(holder.encryptQuery(q), cands), 3);
                    for (int j = 0; j < 3; j++) {
                        assertEquals(HeTestVectors.dot(q, cands.get(j)), s[j], TOLERANCE);
                    }
                }
            }
            com.sun.jna.Memory v = Natives.floats(new float[] {0.5f});
            try (PreparedZero zero = kh.use(PreparedZero::create)) {
                int[] codes = new int[2];
                for (int i = 0; i < 2; i++) {
                    int call = i;
                    kh.use(p -> zero.use(z -> {
                        com.sun.jna.ptr.PointerByReference data = new com.sun.jna.ptr.PointerByReference();
                        com.sun.jna.ptr.LongByReference len = new com.sun.jna.ptr.LongByReference();
                        codes[call] = Natives.lib().eks_encrypt_query(p, z, v, 1, data, len);
                        if (codes[call] == 0) {
                            Natives.take(data, len);
                        }
                        return null;
                    }));
                }
                assertEquals(0, codes[0]);
                assertEquals("second use of a prepared encryption of zero", 2, codes[1]);
            }
            try (PreparedZero theirs = kh.use(PreparedZero::create)) {
                int code = none.use(p -> theirs.use(z -> {
                    com.sun.jna.ptr.PointerByReference data = new com.sun.jna.ptr.PointerByReference();
                    return Natives.lib().eks_encrypt_query(p, z, v, 1, data, new com.sun.jna.ptr.LongByReference());
                }));
                assertEquals("another key holder's prepared encryption of zero", 4, code);
            }
        }
        assertEquals(0, NativeMemory.stats().liveBuffers());
    }

    @Test
    public void parameterValidation() {
        expect(() -> new CkksParameters(2048, List.of(50), 25, 288));
        expect(() -> new CkksParameters(4096, List.of(42, 36, 31), 25, 288)); // one prime only
        expect(() -> new CkksParameters(4096, List.of(61), 25, 288)); // primes have at most 60 bits
        expect(() -> new CkksParameters(4096, List.of(50), 31, 288)); // leaves 15 bits to the candidate scale
        expect(() -> new CkksParameters(4096, List.of(50), 15, 288)); // query scale below 16 bits
        expect(() -> new CkksParameters(4096, List.of(50), 25, 4096)); // B ≥ N
        assertEquals(21, CkksParameters.defaults().candidateScaleBits());
        assertEquals(4096, CkksParameters.forResidualLength(3000).polyDegree());
        assertEquals(8192, CkksParameters.forResidualLength(5000).polyDegree());
    }

    @Test
    public void invalidArgumentsAndClosedHandles() {
        try (CkksContext ctx = CkksContext.createDefault();
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
            expect(() -> kh.encryptQuery(new float[CkksParameters.DEFAULT_BLOCK_WIDTH + 1]));
            expect(() -> kh.encryptQuery(new float[0]));
            float[] nan = new float[DIM];
            nan[7] = Float.NaN;
            expect(() -> kh.encryptQuery(nan));
            float[] huge = new float[DIM];
            huge[0] = 1e9f;
            expect(() -> kh.encryptQuery(huge));
            byte[] query = kh.encryptQuery(new float[DIM]);
            CkksScorer scorer = new CkksScorer(ctx);
            expect(() -> scorer.score(query, List.of(new float[DIM + 5])));
            expect(() ->
                    kh.decryptBatch(scorer.score(query, List.of(new float[DIM])).get(0), ctx.blocks() + 1));
            CkksQuery loaded = scorer.loadQuery(query);
            loaded.close();
            HeException e = expect(() -> scorer.score(loaded, List.of(new float[DIM])));
            assertEquals(HeException.Kind.CLOSED, e.kind());
        }
        assertEquals(0, NativeMemory.stats().liveBuffers());
    }

    static HeException expect(Runnable r) {
        try {
            r.run();
        } catch (HeException e) {
            return e;
        }
        fail("expected HeException");
        return null;
    }
}
