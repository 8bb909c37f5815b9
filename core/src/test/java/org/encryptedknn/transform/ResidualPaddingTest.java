package org.encryptedknn.transform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksScorer;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Record residual v2 (docs/design.md §2): every stored z of a model has the model's norm T, so ‖z‖ no longer
 * re-identifies a record, while every rescoring mode still scores exactly (the query's padding coordinate is 0).
 */
public class ResidualPaddingTest {

    private static final int RECORDS = 300;
    private static KeyDerivation keys;
    private static float[][] train;
    private static float[][] docs;
    private static float[][] queries;

    @BeforeClass
    public static void setUp() {
        keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));
        train = TestEmbeddings.vectors(1000, 11);
        docs = TestEmbeddings.vectors(RECORDS, 12);
        queries = TestEmbeddings.vectors(5, 13);
    }

    @AfterClass
    public static void tearDown() {
        keys.close();
    }

    @Test
    public void cosineRecordsHaveOneNormAndExactScoresInEveryMode() {
        check(Space.COSINE, docs);
    }

    /** Inner product: vectors of different lengths (×0.5 … ×1.5) are padded to the model-wide bound T. */
    @Test
    public void innerProductRecordsHaveOneNormAndExactScoresInEveryMode() {
        float[][] scaled = TestEmbeddings.ofDifferentLengths(docs);
        float[][] fitOn = new float[train.length][];
        for (int i = 0; i < train.length; i++) {
            fitOn[i] = train[i].clone();
            for (int j = 0; j < fitOn[i].length; j++) {
                fitOn[i][j] *= 1.5f;
            }
        }
        EncryptionModel model = check(Space.INNER_PRODUCT, scaled, fitOn);
        // a vector whose residual is longer than T is refused, naming the bound
        float[] tooLong = docs[0].clone();
        for (int j = 0; j < tooLong.length; j++) {
            tooLong[j] *= 10f;
        }
        try (VectorTransform t = new VectorTransform(model, keys)) {
            t.encryptDocument(tooLong, "long", "embedding");
            fail("a residual longer than the model's residual_norm must be refused");
        } catch (IllegalArgumentException e) {
            // ×10 exceeds both bounds; the augmented prefix's is checked first (PrefixAugmentationTest)
            assertTrue(
                    e.getMessage(),
                    e.getMessage().contains("residual_norm") || e.getMessage().contains("prefix_norm"));
        }
    }

    private static EncryptionModel check(Space space, float[][] records) {
        return check(space, records, train);
    }

    private static EncryptionModel check(Space space, float[][] records, float[][] fitOn) {
        int d = TestEmbeddings.DIMENSION;
        EncryptionModel fitted =
                ModelFitter.fit("pad-" + space.wireName(), new ModelParameters(d, space, 96, 4, 0.5, 1), fitOn);
        EncryptionModel model = ModelCodec.fromJson(ModelCodec.toJson(fitted, keys), keys); // T survives the codec
        assertEquals(fitted.residualNorm(), model.residualNorm(), 0);
        assertEquals(d - 96 + 1, model.residualLength());
        double norm = model.residualNorm();
        if (space == Space.COSINE) {
            assertEquals(1, norm, 0);
        }
        try (VectorTransform t = new VectorTransform(model, keys);
                VectorTransform t2 = new VectorTransform(model.withEpoch(2), keys, 2)) {
            EncryptedVector[] one = new EncryptedVector[records.length];
            byte[][] nonces = new byte[records.length][];
            for (int i = 0; i < records.length; i++) {
                one[i] = t.encryptDocument(records[i], "doc-" + i, "embedding");
                nonces[i] = one[i].nonce();
            }
            EncryptedVector[] batch = t.encryptDocuments(records, nonces);
            double worstNorm = 0;
            for (int i = 0; i < records.length; i++) {
                EncryptedVector rekeyed = t2.rekey(t, one[i], "doc-" + i, "embedding");
                for (EncryptedVector v : new EncryptedVector[] {one[i], batch[i], rekeyed}) {
                    assertEquals(d - 96 + 1, v.keyedResidual().length);
                    worstNorm = Math.max(
                            worstNorm,
                            Math.abs(Math.sqrt(VectorTransform.dot(v.keyedResidual(), v.keyedResidual())) - norm));
                }
            }
            assertTrue(
                    "every stored ‖z‖ = T = " + norm + " (worst deviation " + worstNorm + ")",
                    worstNorm <= 1e-6 * Math.max(1, norm));

            CkksParameters params = CkksParameters.forResidualLength(model.residualLength());
            if (d == 384) {
                assertEquals("289 · 14 = 4046 < 4096", 14, params.blocks());
            }
            try (CkksContext ctx = CkksContext.create(params);
                    CkksSecretKey sk = CkksSecretKey.generate(ctx);
                    CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
                CkksScorer scorer = new CkksScorer(ctx);
                for (float[] x : queries) {
                    EncryptedQuery q = t.encryptQuery(x);
                    double worst = 0;
                    for (int i = 0; i < records.length; i++) {
                        EncryptedVector v = one[i];
                        double exact = VectorTransform.similarity(x, records[i], space);
                        // key_holder (the default): the key holder decrypts the prefix and scores the residual itself
                        worst = Math.max(worst, Math.abs(t.score(q, v) - exact));
                        // keyed_leaks_query_residuals: the data node's ⟨H_c [r_q; 0], z⟩
                        double keyed = t.prefixScore(q, v)
                                + VectorTransform.residualScore(t.keyedResidualQuery(q, v.cell()), v);
                        worst = Math.max(worst, Math.abs(keyed - exact));
                    }
                    // ckks: the homomorphic ⟨H_c [r_q; 0], z⟩ of every record of the query's first cell
                    int cell = one[0].cell();
                    List<float[]> ofCell = new ArrayList<>();
                    List<Integer> index = new ArrayList<>();
                    for (int i = 0; i < records.length; i++) {
                        if (one[i].cell() == cell) {
                            ofCell.add(one[i].keyedResidual());
                            index.add(i);
                        }
                    }
                    double[] he = kh.decryptScores(
                            scorer.score(kh.encryptQuery(t.keyedResidualQuery(q, cell)), ofCell), ofCell.size());
                    for (int k = 0; k < ofCell.size(); k++) {
                        EncryptedVector v = one[index.get(k)];
                        double exact = VectorTransform.similarity(x, records[index.get(k)], space);
                        worst = Math.max(worst, Math.abs(t.prefixScore(q, v) + he[k] - exact));
                    }
                    assertTrue(
                            space + ": scores exact in every mode (worst " + worst + ")",
                            worst <= 1e-4 * Math.max(1, norm * norm));
                }
            }
        }
        return model;
    }
}
