package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Locale;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodecTest;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Per-epoch cells (docs/design.md §2 "Cells"): with the cell jitter of new models a re-key draws every record's cell
 * afresh, so the same-cell groups of one epoch (whose Gram matrices are the linkable invariant) do not carry over;
 * scores stay exact; a model without jitter keeps one partition for every epoch.
 */
public class EpochCellsTest {

    private static final int D = 64;
    private static final int N = 600;
    private static KeyDerivation keys;
    private static float[][] docs;
    private static float[][] queries;
    private static EncryptionModel model;

    @BeforeClass
    public static void fit() {
        keys = new KeyDerivation(MasterKey.generate());
        float[][] all = ModelCodecTest.trim(TestEmbeddings.vectors(N + 20, 31), D);
        docs = java.util.Arrays.copyOf(all, N);
        queries = java.util.Arrays.copyOfRange(all, N, N + 20);
        model = ModelFitter.fit("cells", new ModelParameters(D, Space.COSINE, 16, 8, 0.5, 1), docs);
    }

    @AfterClass
    public static void close() {
        keys.close();
    }

    /** Records encrypted at epoch 1 and re-keyed to epoch 2 under {@code m}. */
    private static EncryptedVector[][] rekeyAll(EncryptionModel m) {
        EncryptedVector[][] out = new EncryptedVector[2][N];
        try (VectorTransform t1 = new VectorTransform(m, keys, 1);
                VectorTransform t2 = new VectorTransform(m.withEpoch(2), keys, 2)) {
            for (int i = 0; i < N; i++) {
                out[0][i] = t1.encryptDocument(docs[i], "doc-" + i, "embedding");
                out[1][i] = t2.rekey(t1, out[0][i], "doc-" + i, "embedding");
            }
        }
        return out;
    }

    private static double movedShare(EncryptedVector[][] e) {
        int moved = 0;
        for (int i = 0; i < N; i++) {
            moved += e[0][i].cell() == e[1][i].cell() ? 0 : 1;
        }
        return moved / (double) N;
    }

    /** Of the pairs in one cell at epoch 1, the share still in one cell at epoch 2. */
    private static double keptPairs(EncryptedVector[][] e) {
        long together = 0;
        long kept = 0;
        for (int i = 0; i < N; i++) {
            for (int j = i + 1; j < N; j++) {
                if (e[0][i].cell() == e[0][j].cell()) {
                    together++;
                    kept += e[1][i].cell() == e[1][j].cell() ? 1 : 0;
                }
            }
        }
        return kept / (double) together;
    }

    @Test
    public void aRekeyDrawsANewPartition() {
        assertTrue(model.hasEpochCells());
        EncryptedVector[][] jittered = rekeyAll(model);
        EncryptedVector[][] fixed = rekeyAll(model.withCellJitter(0));
        double moved = movedShare(jittered);
        double kept = keptPairs(jittered);
        System.out.printf(
                Locale.ROOT,
                "per-epoch cells (C = 8, jitter %.2f): %.3f of records change cell at a re-key; %.3f of same-cell pairs stay"
                        + " together (without jitter: %.3f / %.3f)%n",
                model.cellJitter(),
                moved,
                kept,
                movedShare(fixed),
                keptPairs(fixed));
        assertTrue("moved " + moved, moved >= 0.3);
        assertTrue("kept pairs " + kept, kept <= 0.6);
        // a model without jitter (every model fitted before) keeps one partition for every epoch
        assertEquals(0, movedShare(fixed), 0);
        assertEquals(1, keptPairs(fixed), 0);
    }

    @Test
    public void theCellIsAFunctionOfTheVectorTheNonceAndTheEpoch() {
        try (VectorTransform t1 = new VectorTransform(model, keys, 1);
                VectorTransform t2 = new VectorTransform(model.withEpoch(2), keys, 2)) {
            int differ = 0;
            for (int i = 0; i < N; i++) {
                EncryptedVector a = t1.encryptDocument(docs[i], "doc-" + i, "embedding");
                EncryptedVector again = t1.encryptDocument(docs[i].clone(), "doc-" + i, "embedding");
                assertEquals(a, again); // deterministic: a record encrypts identically within an epoch
                assertEquals(t1.cellOf(docs[i], a.nonce()), a.cell());
                // the same nonce under the next epoch's jitter key gives an independent draw
                differ += t2.cellOf(docs[i], a.nonce()) == a.cell() ? 0 : 1;
            }
            assertTrue("cells differing between epochs for one nonce: " + differ, differ >= 0.3 * N);
        }
    }

    @Test
    public void scoresStayExactAcrossTheNewPartition() {
        EncryptedVector[][] e = rekeyAll(model);
        try (VectorTransform t1 = new VectorTransform(model, keys, 1);
                VectorTransform t2 = new VectorTransform(model.withEpoch(2), keys, 2)) {
            double worst = 0;
            for (float[] x : queries) {
                EncryptedQuery q1 = t1.encryptQuery(x);
                EncryptedQuery q2 = t2.encryptQuery(x);
                for (int i = 0; i < N; i++) {
                    double truth = VectorTransform.similarity(x, docs[i], Space.COSINE);
                    // key_holder: the key holder scores the record it got back
                    worst = Math.max(worst, Math.abs(t1.score(q1, e[0][i]) - truth));
                    worst = Math.max(worst, Math.abs(t2.score(q2, e[1][i]) - truth));
                    // keyed and ckks: ⟨H_c [r_q; 0], z⟩ under the cell the record carries, plus the exact prefix term
                    float[] y = t2.keyedResidualQuery(q2, e[1][i].cell());
                    double keyed = t2.prefixScore(q2, e[1][i]) + VectorTransform.dot(y, e[1][i].keyedResidual());
                    worst = Math.max(worst, Math.abs(keyed - truth));
                }
            }
            assertTrue("worst score error " + worst, worst < 1e-4);
        }
    }

    @Test
    public void batchAndSingleEncryptionAgreeOnTheJitteredCell() {
        try (VectorTransform t = new VectorTransform(model, keys)) {
            byte[][] nonces = new byte[N][];
            for (int i = 0; i < N; i++) {
                nonces[i] = t.documentNonce(docs[i], "doc-" + i, "embedding");
            }
            EncryptedVector[] batch = t.encryptDocuments(docs, nonces);
            int notNearest = 0;
            for (int i = 0; i < N; i++) {
                EncryptedVector one = t.encryptDocument(docs[i], nonces[i]);
                assertEquals(one.cell(), batch[i].cell());
                assertArrayEquals(one.keyedResidual(), batch[i].keyedResidual(), 0f);
                notNearest += batch[i].cell() == t.cellOf(docs[i]) ? 0 : 1;
            }
            assertTrue("records outside their nearest cell: " + notNearest, notNearest > 0);
        }
    }
}
