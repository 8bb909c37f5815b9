package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.prefix.PrefixNonces;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

public class VectorTransformTest {

    public static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    static KeyDerivation keys;
    static float[][] train;
    static float[][] docs;
    static float[][] queries;
    static EncryptionModel cosine;
    static VectorTransform transform;

    @BeforeClass
    public static void fit() {
        keys = new KeyDerivation(MasterKey.fromBase64(KEY));
        train = TestEmbeddings.vectors(2000, 1);
        docs = TestEmbeddings.vectors(2000, 2);
        queries = TestEmbeddings.vectors(100, 3);
        cosine = ModelFitter.fit(
                "m1", new ModelParameters(TestEmbeddings.DIMENSION, Space.COSINE, 96, 8, 0.5, 1), train);
        transform = new VectorTransform(cosine, keys);
        System.out.printf(
                Locale.ROOT,
                "model on %s: beta scale %.4f, absolute β %.4f, s = %.4f%n",
                TestEmbeddings.source(),
                cosine.betaScale(),
                cosine.absoluteBeta(),
                transform.sap().scale());
    }

    @AfterClass
    public static void close() {
        transform.close();
        keys.close();
    }

    @Test
    public void basisIsOrthogonalAndSorted() {
        float[] v = cosine.basis();
        int d = TestEmbeddings.DIMENSION;
        double worst = 0;
        for (int a = 0; a < d; a += 7) {
            for (int b = 0; b < d; b++) {
                double s = 0;
                for (int j = 0; j < d; j++) {
                    s += (double) v[a * d + j] * v[b * d + j];
                }
                worst = Math.max(worst, Math.abs(s - (a == b ? 1 : 0)));
            }
        }
        assertTrue("V orthogonal: " + worst, worst < 1e-5);
        assertTrue(cosine.betaScale() > 0);
    }

    @Test
    public void fullScoreEqualsPlaintextCosine() {
        EncryptedVector[] enc = new EncryptedVector[200];
        for (int i = 0; i < enc.length; i++) {
            enc[i] = transform.encryptDocument(docs[i], "doc-" + i, "embedding");
        }
        double worst = maxScoreError(transform, queries, docs, enc, Space.COSINE);
        System.out.printf(Locale.ROOT, "cosine score error max %.2e%n", worst);
        assertTrue("score error " + worst, worst < 1e-4);
    }

    @Test
    public void fullScoreEqualsPlaintextInnerProduct() {
        SplittableRandom r = new SplittableRandom(9);
        float[][] t = scaleRandomly(train, r);
        float[][] ds = scaleRandomly(Arrays.copyOf(docs, 200), r);
        float[][] qs = scaleRandomly(Arrays.copyOf(queries, 30), r);
        EncryptionModel ip = ModelFitter.fit(
                "ip", new ModelParameters(TestEmbeddings.DIMENSION, Space.INNER_PRODUCT, 96, 4, 0.5, 1), t);
        try (VectorTransform tr = new VectorTransform(ip, keys)) {
            EncryptedVector[] enc = tr.encryptDocuments(ds, nonces(tr, ds));
            double worst = maxScoreError(tr, qs, ds, enc, Space.INNER_PRODUCT);
            System.out.printf(Locale.ROOT, "inner-product score error max %.2e%n", worst);
            assertTrue("score error " + worst, worst < 1e-4);
        }
    }

    /** The key holder gets back the vector it encrypted (normalized for a cosine model), to float precision. */
    @Test
    public void decryptDocumentReturnsTheEncryptedVector() {
        double worst = 0;
        for (int i = 0; i < 100; i++) {
            EncryptedVector enc = transform.encryptDocument(docs[i], "doc-" + i, "embedding");
            float[] back = transform.decryptDocument(enc);
            double norm = Math.sqrt(VectorTransform.similarity(docs[i], docs[i], Space.INNER_PRODUCT));
            for (int j = 0; j < back.length; j++) {
                worst = Math.max(worst, Math.abs(back[j] - docs[i][j] / norm));
            }
        }
        System.out.printf(Locale.ROOT, "decrypted vector error max %.2e%n", worst);
        assertTrue("decryption error " + worst, worst < 1e-5);
    }

    /** Largest |encrypted score − plaintext similarity| over every query and the documents {@code enc} encrypts ({@code docs[i]} ↔ {@code enc[i]}). */
    private static double maxScoreError(
            VectorTransform tr, float[][] queries, float[][] docs, EncryptedVector[] enc, Space space) {
        double worst = 0;
        for (float[] qv : queries) {
            EncryptedQuery q = tr.encryptQuery(qv);
            for (int i = 0; i < enc.length; i++) {
                worst = Math.max(worst, Math.abs(tr.score(q, enc[i]) - VectorTransform.similarity(qv, docs[i], space)));
            }
        }
        return worst;
    }

    private static float[][] scaleRandomly(float[][] in, SplittableRandom r) {
        float[][] out = new float[in.length][];
        for (int i = 0; i < in.length; i++) {
            float f = (float) (0.5 + 1.5 * r.nextDouble());
            out[i] = in[i].clone();
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] *= f;
            }
        }
        return out;
    }

    private static byte[][] nonces(VectorTransform tr, float[][] xs) {
        byte[][] out = new byte[xs.length][];
        for (int i = 0; i < xs.length; i++) {
            out[i] = tr.documentNonce(xs[i], "doc-" + i, "embedding");
        }
        return out;
    }

    @Test
    public void batchEqualsOneByOne() {
        float[][] xs = Arrays.copyOf(docs, 123);
        byte[][] ns = nonces(transform, xs);
        EncryptedVector[] batch = transform.encryptDocuments(xs, ns);
        for (int i = 0; i < xs.length; i++) {
            assertEquals(transform.encryptDocument(xs[i], ns[i]), batch[i]);
            assertEquals(transform.cellOf(xs[i], ns[i]), batch[i].cell());
        }
    }

    @Test
    public void recordsAreDeterministicPerIdAndEpoch() {
        EncryptedVector a = transform.encryptDocument(docs[0], "doc-0", "embedding");
        EncryptedVector b = transform.encryptDocument(docs[0], "doc-0", "embedding");
        EncryptedVector c = transform.encryptDocument(docs[0], "doc-1", "embedding");
        assertEquals(a, b);
        assertFalse(Arrays.equals(a.prefix(), c.prefix()));
        // the residual carries no noise: another nonce changes z only through the cell its jitter draws
        EncryptedVector sameCell = c;
        for (int id = 2; sameCell.cell() != a.cell(); id++) {
            sameCell = transform.encryptDocument(docs[0], "doc-" + id, "embedding");
        }
        assertArrayEquals(a.keyedResidual(), sameCell.keyedResidual(), 0f);
        assertEquals(1, a.epoch());
        assertEquals(97, a.prefix().length); // d_pub + 1: the augmented prefix [u; t′]
        assertEquals(289, a.keyedResidual().length); // d − d_pub + 1: the padding coordinate
        // same master key, new instance: same record (every node computes the same)
        try (KeyDerivation k2 = new KeyDerivation(MasterKey.fromBase64(KEY));
                VectorTransform t2 = new VectorTransform(cosine, k2)) {
            assertEquals(a, t2.encryptDocument(docs[0], "doc-0", "embedding"));
        }
    }

    @Test
    public void cellKeysAreHaarOrthogonal() {
        int n = 289; // d − d_pub + 1 (padded residual)
        double[] h = transform.cellKey(0);
        double worst = 0;
        for (int a = 0; a < n; a++) {
            for (int b = a; b < n; b++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += h[k * n + a] * h[k * n + b];
                }
                worst = Math.max(worst, Math.abs(s - (a == b ? 1 : 0)));
            }
        }
        assertTrue("HᵀH = I: " + worst, worst < 1e-5);
        // the float matrix actually used, H_cᵀ: H_c H_cᵀ = I in float
        float[][] w = transform.cellMatrix(0);
        double worstW = 0;
        for (int a = 0; a < n; a += 5) {
            for (int b = 0; b < n; b++) {
                double s = 0;
                for (float[] row : w) {
                    s += (double) row[a] * row[b];
                }
                worstW = Math.max(worstW, Math.abs(s - (a == b ? 1 : 0)));
            }
        }
        assertTrue("H Hᵀ = I: " + worstW, worstW < 1e-5);

        // no fixed subspace: ‖H r − r‖/‖r‖ ≈ √2 on average
        SplittableRandom r = new SplittableRandom(4);
        double mean = 0;
        int trials = 500;
        for (int t = 0; t < trials; t++) {
            double[] x = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = r.nextDouble() - 0.5;
            }
            double num = 0;
            double den = 0;
            for (int i = 0; i < n; i++) {
                double hx = 0;
                for (int k = 0; k < n; k++) {
                    hx += h[i * n + k] * x[k];
                }
                num += (hx - x[i]) * (hx - x[i]);
                den += x[i] * x[i];
            }
            mean += Math.sqrt(num / den) / trials;
        }
        System.out.printf(Locale.ROOT, "mean ‖H r − r‖/‖r‖ = %.4f (√2 = %.4f)%n", mean, Math.sqrt(2));
        assertEquals(Math.sqrt(2), mean, 0.05);
    }

    @Test
    public void cellKeysDifferPerCellAndEpochAndAreReproducible() {
        double[] h0 = transform.cellKey(0);
        double[] h1 = transform.cellKey(1);
        assertFalse(Arrays.equals(h0, h1));
        try (VectorTransform e2 = new VectorTransform(cosine.withEpoch(2), keys)) {
            assertFalse(Arrays.equals(h0, e2.cellKey(0)));
            assertFalse(Arrays.equals(transform.prefixRotation(), e2.prefixRotation()));
        }
        try (KeyDerivation k2 = new KeyDerivation(MasterKey.fromBase64(KEY));
                VectorTransform same = new VectorTransform(cosine, k2)) {
            assertArrayEquals(h0, same.cellKey(0), 0);
        }
        try (KeyDerivation other = new KeyDerivation(MasterKey.generate());
                VectorTransform t = new VectorTransform(cosine, other)) {
            assertFalse(Arrays.equals(h0, t.cellKey(0)));
        }
    }

    @Test
    public void probeCellsStartWithTheQuerysOwnCell() {
        for (int i = 0; i < 20; i++) {
            EncryptedQuery q = transform.encryptQuery(queries[i]);
            int[] probe = transform.probeCells(q, 3);
            assertEquals(3, probe.length);
            assertEquals(transform.cellOf(queries[i]), probe[0]);
            assertEquals(8, transform.probeCells(q, 100).length);
        }
    }

    @Test
    public void queriesAreDeterministicAndPrintNoSecret() {
        EncryptedQuery a = transform.encryptQuery(queries[0]);
        EncryptedQuery b = transform.encryptQuery(queries[0]);
        assertArrayEquals(a.prefix(), b.prefix(), 0f);
        EncryptedQuery c = transform.encryptQuery(queries[0], PrefixNonces.random());
        assertFalse(Arrays.equals(a.prefix(), c.prefix()));
        assertFalse(a.toString().contains(Float.toString(a.rotatedPrefix()[0])));
        assertArrayEquals(transform.keyedResidualQuery(a, 3), transform.keyedResidualQuery(c, 3), 0f);
    }

    @Test
    public void wrongEpochIsRejectedClearly() {
        EncryptedVector v = transform.encryptDocument(docs[0], "doc-0", "embedding");
        try (VectorTransform e2 = new VectorTransform(cosine.withEpoch(2), keys)) {
            try {
                e2.decryptPrefix(v);
                fail();
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("epoch 1"));
            }
            try {
                e2.score(transform.encryptQuery(queries[0]), e2.encryptDocument(docs[0], "doc-0", "embedding"));
                fail();
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("epoch"));
            }
        }
    }

    @Test
    public void rekeyedRecordsScoreExactlyAndAreUnrelated() {
        EncryptionModel m2 = cosine.withEpoch(2);
        try (VectorTransform e2 = new VectorTransform(m2, keys)) {
            int n = 200;
            double worst = 0;
            double sxy = 0;
            double sxx = 0;
            double syy = 0;
            EncryptedVector[] old = new EncryptedVector[n];
            EncryptedVector[] fresh = new EncryptedVector[n];
            for (int i = 0; i < n; i++) {
                old[i] = transform.encryptDocument(docs[i], "doc-" + i, "embedding");
                fresh[i] = e2.rekey(transform, old[i], "doc-" + i, "embedding");
                assertEquals(2, fresh[i].epoch());
                // re-keying equals encrypting from scratch under the new epoch with the re-keyed record's nonce (up to
                // float rounding): the same noise and the same cell of the new epoch's partition (the jitter of that
                // nonce), hence the same residual
                EncryptedVector direct = e2.encryptDocument(docs[i], fresh[i].nonce());
                assertEquals(direct.cell(), fresh[i].cell());
                assertArrayEquals(direct.keyedResidual(), fresh[i].keyedResidual(), 1e-5f);
                assertArrayEquals(e2.decryptPrefix(direct), e2.decryptPrefix(fresh[i]), 1e-5f);
                for (int j = 0; j < old[i].keyedResidual().length; j++) {
                    double x = old[i].keyedResidual()[j];
                    double y = fresh[i].keyedResidual()[j];
                    sxy += x * y;
                    sxx += x * x;
                    syy += y * y;
                }
            }
            for (int k = 0; k < 20; k++) {
                EncryptedQuery q1 = transform.encryptQuery(queries[k]);
                EncryptedQuery q2 = e2.encryptQuery(queries[k]);
                for (int i = 0; i < n; i++) {
                    worst = Math.max(worst, Math.abs(transform.score(q1, old[i]) - e2.score(q2, fresh[i])));
                }
            }
            double corr = sxy / Math.sqrt(sxx * syy);
            System.out.printf(
                    Locale.ROOT,
                    "re-key: max score change %.2e, correlation old/new keyed residuals %.4f%n",
                    worst,
                    corr);
            assertTrue("score change " + worst, worst < 1e-4);
            assertTrue("old and new keyed residuals correlated: " + corr, Math.abs(corr) < 0.05);
        }
    }

    /** Stage 1 brute force on the SAP prefixes (what HNSW approximates), exact rerank of the top K. */
    @Test
    public void defaultBetaKeepsRecallAtK100() {
        int n = docs.length;
        int k = 100;
        byte[][] ns = nonces(transform, docs);
        EncryptedVector[] enc = transform.encryptDocuments(docs, ns);
        double recall = 0;
        double recallNoNoise = 0;
        try (VectorTransform noNoise = new VectorTransform(cosine.withBeta(0), keys)) {
            EncryptedVector[] enc0 = noNoise.encryptDocuments(docs, ns);
            for (float[] qv : queries) {
                int[] truth = topByScore(n, i -> VectorTransform.similarity(qv, docs[i], Space.COSINE), 10);
                recall += recallAt10(transform, enc, transform.encryptQuery(qv), truth, k) / queries.length;
                recallNoNoise += recallAt10(noNoise, enc0, noNoise.encryptQuery(qv), truth, k) / queries.length;
            }
        }
        System.out.printf(
                Locale.ROOT,
                "recall@10 with K=%d on %d docs (%s): β=0.5×scale %.3f, β=0 %.3f%n",
                k,
                n,
                TestEmbeddings.source(),
                recall,
                recallNoNoise);
        assertTrue("recall@10 at K=100 " + recall, recall >= 0.95);
    }

    /** Recall@10 of the encrypted path: top k by encrypted prefix distance, re-ranked exactly (other tests use it). */
    public static double recallAt10(VectorTransform tr, EncryptedVector[] enc, EncryptedQuery q, int[] truth, int k) {
        float[] pq = q.prefix();
        int[] candidates = topByScore(enc.length, i -> -dist2(pq, enc[i].prefix()), k);
        double[] exact = new double[candidates.length];
        for (int c = 0; c < candidates.length; c++) {
            exact[c] = tr.score(q, enc[candidates[c]]);
        }
        int[] order = topByScore(candidates.length, c -> exact[c], 10);
        int hits = 0;
        for (int o : order) {
            for (int t : truth) {
                if (candidates[o] == t) {
                    hits++;
                }
            }
        }
        return hits / 10.0;
    }

    static double dist2(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double t = a[i] - b[i];
            s += t * t;
        }
        return s;
    }

    public static int[] topByScore(int n, java.util.function.IntToDoubleFunction score, int k) {
        Integer[] idx = new Integer[n];
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
            s[i] = score.applyAsDouble(i);
        }
        Arrays.sort(idx, (a, b) -> Double.compare(s[b], s[a]));
        int[] out = new int[Math.min(k, n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    @Test
    public void rejectsBadVectors() {
        try {
            transform.encryptDocument(new float[10], "x", "f");
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("dimension 10"));
        }
        try {
            transform.encryptDocument(new float[384], "x", "f");
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("zero vector"));
        }
        assertNotEquals("", transform.toString());
    }
}
