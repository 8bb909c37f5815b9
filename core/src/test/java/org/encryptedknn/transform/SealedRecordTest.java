package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.keys.RecordSeal;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/** The sealed record {p,n,s,e}: its forms, its exact score, and what the key holder refuses to open. */
public class SealedRecordTest {

    static KeyDerivation keys;
    static float[][] docs;
    static float[][] queries;
    static EncryptionModel model;
    static VectorTransform transform;

    @BeforeClass
    public static void fit() {
        keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));
        docs = TestEmbeddings.vectors(300, 2);
        queries = TestEmbeddings.vectors(20, 3);
        model = ModelFitter.fit(
                "m1",
                new ModelParameters(TestEmbeddings.DIMENSION, Space.COSINE, 96, 8, 0.5, 1),
                TestEmbeddings.vectors(2000, 1));
        transform = new VectorTransform(model, keys);
    }

    @AfterClass
    public static void close() {
        transform.close();
        keys.close();
    }

    static EncryptedVector sealed(int i) {
        return transform.encryptDocument(docs[i], "doc-" + i, "embedding", RecordForm.SEALED);
    }

    @Test
    public void aSealedRecordHasNoCellAndNoZAndTheSamePrefixAsTheKeyedOne() {
        EncryptedVector s = sealed(0);
        EncryptedVector k = transform.encryptDocument(docs[0], "doc-0", "embedding");
        assertTrue(s.isSealed());
        assertEquals(EncryptedVector.NO_CELL, s.cell());
        assertEquals(0, s.keyedResidual().length);
        assertEquals(RecordFormat.sealedBytes(TestEmbeddings.DIMENSION), s.sealed().length);
        assertArrayEquals(k.nonce(), s.nonce());
        assertArrayEquals(k.prefix(), s.prefix(), 0f); // the same graph vector: stage 1 is unchanged
        assertEquals(s, sealed(0)); // the document nonce: re-encrypting gives the same record
        assertFalse(s.toString().contains(Byte.toString(s.sealed()[0]) + ","));
    }

    @Test
    public void documentFormHasExactlyPnse() {
        EncryptedVector s = sealed(1);
        Map<String, Object> m = RecordFormat.toMap(s);
        assertEquals(List.of("p", "n", "s", "e"), new ArrayList<>(m.keySet()));
        assertTrue(RecordFormat.looksLikeRecord(m));
        RecordFormat.Shape shape = RecordFormat.Shape.of(model);
        assertEquals(s, RecordFormat.fromMap(m, "field [embedding]", shape));

        Map<String, Object> withCell = new HashMap<>(m);
        withCell.put("c", 3);
        RecordFormatTest.expect(withCell, shape, "a sealed encrypted vector has exactly the keys p, n, s, e");
        Map<String, Object> shortS = new HashMap<>(m);
        shortS.put("s", java.util.Base64.getEncoder().encodeToString(new byte[40]));
        RecordFormatTest.expect(shortS, shape, "[s] must be base64 of " + shape.sealedBytes() + " bytes");
        Map<String, Object> notText = new HashMap<>(m);
        notText.put("s", 17);
        RecordFormatTest.expect(notText, shape, "[s] must be a string");
        Map<String, Object> huge = new HashMap<>(m);
        huge.put("s", "A".repeat(1 << 20));
        RecordFormatTest.expect(huge, shape, "[s] is too long");
    }

    @Test
    public void scoresExactlyAndMatchesTheKeyedRecord() {
        for (float[] x : queries) {
            EncryptedQuery q = transform.encryptQuery(x);
            for (int i = 0; i < 50; i++) {
                double sealedScore = transform.score(q, sealed(i));
                double keyedScore = transform.score(q, transform.encryptDocument(docs[i], "doc-" + i, "embedding"));
                assertEquals(VectorTransform.similarity(x, docs[i], Space.COSINE), sealedScore, 1e-6);
                assertEquals(keyedScore, sealedScore, 1e-5);
            }
        }
    }

    @Test
    public void decryptsToTheVectorAsEncrypted() {
        float[] x = transform.decryptDocument(sealed(2));
        double n = Math.sqrt(VectorTransform.dot(docs[2], docs[2]));
        for (int i = 0; i < x.length; i++) {
            assertEquals(docs[2][i] / n, x[i], 1e-6);
        }
    }

    @Test
    public void refusesAlteredOrMixedRecords() {
        EncryptedQuery q = transform.encryptQuery(queries[0]);
        EncryptedVector a = sealed(3);
        EncryptedVector b = sealed(4);
        byte[] flipped = a.sealed().clone();
        flipped[7] ^= 1;
        byte[] tag = a.sealed().clone();
        tag[tag.length - 1] ^= (byte) 0x80;
        byte[] nonce = a.nonce().clone();
        nonce[15] ^= 1; // a byte of n past the 12 of the IV: still in the associated data
        List<EncryptedVector> hostile = List.of(
                EncryptedVector.sealed(a.prefix(), a.nonce(), flipped, 1), // s altered
                EncryptedVector.sealed(a.prefix(), a.nonce(), tag, 1), // tag altered
                EncryptedVector.sealed(a.prefix(), nonce, a.sealed(), 1), // n altered outside the IV
                EncryptedVector.sealed(b.prefix(), b.nonce(), a.sealed(), 1), // a's s under b's p and n
                EncryptedVector.sealed(a.prefix(), b.nonce(), a.sealed(), 1)); // another nonce (IV)
        for (EncryptedVector v : hostile) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> transform.sealedScore(q, v));
            assertTrue(e.getMessage(), e.getMessage().contains("does not open"));
        }
        EncryptedVector wrongLength = EncryptedVector.sealed(a.prefix(), a.nonce(), new byte[100], 1);
        assertThrows(IllegalArgumentException.class, () -> transform.sealedScore(q, wrongLength));
        assertThrows(IllegalArgumentException.class, () -> transform.decryptDocument(wrongLength));
        // p is not part of the score: another record's p (or none, as in a per-hit record) scores the same
        double score = transform.sealedScore(q, a);
        assertEquals(score, transform.sealedScore(q, EncryptedVector.sealed(b.prefix(), a.nonce(), a.sealed(), 1)), 0);
        assertEquals(
                score, transform.sealedScore(q, EncryptedVector.sealed(new float[0], a.nonce(), a.sealed(), 1)), 0);
    }

    @Test
    public void anotherMasterKeyOrEpochDoesNotOpenIt() {
        EncryptedVector a = sealed(5);
        byte[] other = new byte[32];
        other[0] = 1;
        try (KeyDerivation otherKeys = new KeyDerivation(
                        MasterKey.fromBase64(java.util.Base64.getEncoder().encodeToString(other)));
                VectorTransform stranger = new VectorTransform(model, otherKeys)) {
            EncryptedQuery q = stranger.encryptQuery(queries[0]);
            assertThrows(IllegalArgumentException.class, () -> stranger.sealedScore(q, a));
        }
        try (VectorTransform e2 = new VectorTransform(model.withEpoch(2), keys)) {
            EncryptedVector relabelled = EncryptedVector.sealed(a.prefix(), a.nonce(), a.sealed(), 2);
            EncryptedQuery q = e2.encryptQuery(queries[0]);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> e2.sealedScore(q, relabelled));
            assertTrue(e.getMessage(), e.getMessage().contains("does not open"));
        }
    }

    @Test
    public void rekeyingSealsAgainUnderTheNewEpoch() {
        try (VectorTransform e2 = new VectorTransform(model.withEpoch(2), keys)) {
            EncryptedVector old = sealed(6);
            EncryptedVector moved = e2.rekey(transform, old, "doc-6", "embedding");
            assertTrue(moved.isSealed());
            assertEquals(2, moved.epoch());
            assertFalse(java.util.Arrays.equals(old.nonce(), moved.nonce()));
            assertFalse(java.util.Arrays.equals(old.sealed(), moved.sealed()));
            EncryptedQuery q = e2.encryptQuery(queries[1]);
            assertEquals(VectorTransform.similarity(queries[1], docs[6], Space.COSINE), e2.score(q, moved), 1e-6);
        }
    }

    @Test
    public void docValueAndPerHitFormsRoundTrip() {
        EncryptedVector s = sealed(7);
        byte[] dv = ResidualLayout.encodeSealed(s.epoch(), s.sealed());
        byte[] padded = new byte[dv.length + 6];
        System.arraycopy(dv, 0, padded, 3, dv.length);
        ResidualLayout.Residual residual = ResidualLayout.residual(padded, 3, dv.length);
        assertTrue(residual.isSealed());
        assertEquals(EncryptedVector.NO_CELL, residual.cell());
        assertEquals(1, residual.epoch());
        assertEquals(0, residual.length());
        assertArrayEquals(s.sealed(), residual.sealed());
        assertThrows(IllegalStateException.class, () -> residual.dot(new float[3]));

        byte[] hit = ResidualLayout.encodeHitRecord(residual, s.nonce(), null, false);
        assertEquals(1 + 4 + 16 + s.sealed().length, hit.length); // no p: the key holder scores from s
        ResidualLayout.HitRecord read = ResidualLayout.hitRecord(hit, model.residualLength());
        assertFalse(read.hasResidual());
        assertEquals(EncryptedVector.sealed(new float[0], s.nonce(), s.sealed(), s.epoch()), read.vector());
        EncryptedQuery q = transform.encryptQuery(queries[3]);
        assertEquals(transform.sealedScore(q, s), transform.sealedScore(q, read.vector()), 0);
        for (int cut : new int[] {1, 5, 21, 36}) {
            byte[] truncated = java.util.Arrays.copyOf(hit, cut);
            assertThrows(RuntimeException.class, () -> ResidualLayout.hitRecord(truncated, model.residualLength()));
        }
        assertNotEquals(ResidualLayout.VERSION, ResidualLayout.SEALED_VERSION);
    }

    @Test
    public void windowTermsScoreSealedRecordsWholeBesideKeyedOnes() {
        EncryptedQuery q = transform.encryptQuery(queries[2]);
        List<EncryptedVector> window = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            window.add(i % 2 == 0 ? sealed(i) : transform.encryptDocument(docs[i], "doc-" + i, "embedding"));
        }
        boolean[] carriesZ = new boolean[window.size()];
        for (int i = 0; i < carriesZ.length; i++) {
            carriesZ[i] = !window.get(i).isSealed();
        }
        Map<Long, float[]> keyed = new HashMap<>();
        double[] terms =
                WindowTerms.compute(window, carriesZ, e -> transform, e -> q, keyed, ForkJoinPool.commonPool(), 2);
        Set<Long> cells = new java.util.HashSet<>();
        for (int i = 0; i < window.size(); i++) {
            EncryptedVector v = window.get(i);
            double score = v.isSealed()
                    ? terms[i]
                    : terms[i] + VectorTransform.residualScore(keyed.get(WindowTerms.cellKey(1, v.cell())), v);
            assertEquals(VectorTransform.similarity(queries[2], docs[i], Space.COSINE), score, 1e-5);
            if (!v.isSealed()) {
                cells.add(WindowTerms.cellKey(1, v.cell()));
            }
        }
        assertEquals(cells, keyed.keySet()); // no keyed query for a sealed record's (absent) cell
        assertEquals(16, RecordSeal.TAG_BYTES);
    }
}
