package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Instant;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.model.WindowCalibration;
import org.junit.AfterClass;
import org.junit.Test;

/**
 * The augmented prefix layout (docs/design.md §2, issue 15's second step): the stored prefix is SAP(R [u; t′]) with
 * t′ = √(B² − ‖u‖²) and R of dimension d_pub + 1, the query SAP(R [u_q; 0]). Every decrypted document prefix has the
 * norm B, the L2 order of the exact prefixes is the inner-product order on u, scores and decryption stay exact, a
 * re-key derives t′ again, and models of the plain layout (fitted before) keep their width and round-trip.
 */
public class PrefixAugmentationTest {

    private static final int DP = 96;
    private static final int RECORDS = 300;
    private static final float[][] train = TestEmbeddings.vectors(1000, 21);
    private static final float[][] docs = TestEmbeddings.vectors(RECORDS, 22);
    private static final float[][] queries = TestEmbeddings.vectors(20, 23);
    private static final KeyDerivation keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));

    @AfterClass
    public static void closeKeys() {
        keys.close();
    }

    private static EncryptionModel fit(Space space, float[][] sample, PrefixLayout layout) {
        return ModelFitter.fit(
                "aug",
                new ModelParameters(TestEmbeddings.DIMENSION, space, DP, 8, 0.5, 1),
                sample,
                Instant.now(),
                WindowCalibration.DEFAULT_TARGET_RECALL,
                layout);
    }

    @Test
    public void newModelsAreAugmentedAndTheWidthIsOwnedByTheModel() {
        EncryptionModel cosine = ModelFitter.fit(
                "aug", new ModelParameters(TestEmbeddings.DIMENSION, Space.COSINE, DP, 8, 0.5, 1), train);
        assertEquals(PrefixLayout.AUGMENTED, cosine.prefixLayout());
        assertEquals(1.0, cosine.prefixNorm(), 0);
        assertEquals(DP + 1, cosine.prefixWidth());
        assertEquals(DP + 1, RecordFormat.Shape.of(cosine).prefixWidth());
        EncryptionModel plain = fit(Space.COSINE, train, PrefixLayout.PLAIN);
        assertEquals(PrefixLayout.PLAIN, plain.prefixLayout());
        assertEquals(DP, plain.prefixWidth());
        try (VectorTransform t = new VectorTransform(cosine, keys);
                VectorTransform p = new VectorTransform(plain, keys)) {
            assertEquals(DP + 1, t.encryptDocument(docs[0], "d", "f").prefix().length);
            assertEquals(DP + 1, t.encryptQuery(queries[0]).prefix().length);
            assertEquals((DP + 1) * (DP + 1), t.prefixRotation().length);
            assertEquals(DP, p.encryptDocument(docs[0], "d", "f").prefix().length);
            assertEquals(DP, p.encryptQuery(queries[0]).prefix().length);
        }
    }

    @Test
    public void cosineDocumentPrefixesHaveNormOneAndScoresStayExact() {
        check(fit(Space.COSINE, train, PrefixLayout.AUGMENTED), docs);
    }

    /** Inner product: vectors ×0.5 … ×1.5, so ‖u‖ differs widely; every [u; t′] still has the model's B. */
    @Test
    public void innerProductDocumentPrefixesHaveNormBAndScoresStayExact() {
        EncryptionModel model =
                fit(Space.INNER_PRODUCT, TestEmbeddings.ofDifferentLengths(train), PrefixLayout.AUGMENTED);
        assertTrue(model.prefixNorm() > 1);
        check(model, TestEmbeddings.ofDifferentLengths(docs));
    }

    private static void check(EncryptionModel model, float[][] vectors) {
        double b = model.prefixNorm();
        try (VectorTransform t = new VectorTransform(model, keys)) {
            EncryptedVector[] enc = new EncryptedVector[RECORDS];
            for (int i = 0; i < RECORDS; i++) {
                enc[i] = t.encryptDocument(vectors[i], "doc-" + i, "embedding");
                double n = norm(t.decryptPrefix(enc[i]));
                assertEquals("decrypted prefix [u; t'] of record " + i + " has norm B", b, n, 1e-5 * b);
                assertDecrypts(model, vectors[i], t.decryptDocument(enc[i]));
            }
            for (float[] q : queries) {
                EncryptedQuery eq = t.encryptQuery(q);
                float[] rq = eq.rotatedPrefix();
                double q2 = VectorTransform.dot(rq, rq);
                for (int i = 0; i < RECORDS; i++) {
                    double similarity = VectorTransform.similarity(
                            q, vectors[i], model.parameters().space());
                    assertEquals("exact score", similarity, t.score(eq, enc[i]), 1e-4);
                    // ‖R[u_q;0] − R[u;t']‖² = ‖u_q‖² + B² − 2⟨u_q, u⟩: L2 order on the prefixes is IP order on u
                    float[] ru = t.decryptPrefix(enc[i]);
                    double l2 = VectorTransformTest.dist2(rq, ru);
                    double ip = t.prefixScore(eq, enc[i]);
                    assertEquals(q2 + b * b - 2 * ip, l2, 1e-4 * Math.max(1, b * b));
                }
            }
        }
    }

    /** The prefix L2 ranking of the augmented layout is the inner-product ranking on u; the plain one's is not. */
    @Test
    public void l2OrderOfExactPrefixesIsInnerProductOrder() {
        float[][] vectors = TestEmbeddings.ofDifferentLengths(docs);
        EncryptionModel augmented =
                fit(Space.INNER_PRODUCT, TestEmbeddings.ofDifferentLengths(train), PrefixLayout.AUGMENTED);
        EncryptionModel plain = fit(Space.INNER_PRODUCT, TestEmbeddings.ofDifferentLengths(train), PrefixLayout.PLAIN);
        assertEquals(0, inversions(augmented, vectors));
        assertTrue("the plain prefix's L2 order differs from IP order", inversions(plain, vectors) > 0);
    }

    /**
     * A cosine query's stage-1 prefix is R [u_q; ρ‖r_q‖]: its L2 distance to a record's [u; ‖r‖] orders by
     * ⟨u_q, u⟩ + ρ‖r_q‖‖r‖ (the residual prior), while the exact prefix term stays ⟨u_q, u⟩.
     */
    @Test
    public void cosineQueryStageOnePrefixCarriesTheResidualPrior() {
        EncryptionModel model = fit(Space.COSINE, train, PrefixLayout.AUGMENTED);
        try (VectorTransform t = new VectorTransform(model, keys)) {
            for (float[] q : java.util.Arrays.copyOf(queries, 5)) {
                EncryptedQuery eq = t.encryptQuery(q);
                float[] stageOne = t.sap().decrypt(eq.prefix(), eq.nonce(), true);
                float[] rq = eq.rotatedPrefix();
                double uq2 = VectorTransform.dot(rq, rq);
                double a = PrefixLayout.QUERY_RESIDUAL_WEIGHT * Math.sqrt(1 - uq2);
                assertEquals("‖R[u_q; a]‖²", uq2 + a * a, VectorTransform.dot(stageOne, stageOne), 1e-4);
                assertEquals(
                        "R[u_q; a] − R[u_q; 0] has length a",
                        a,
                        Math.sqrt(VectorTransformTest.dist2(stageOne, rq)),
                        1e-4);
                for (int i = 0; i < 20; i++) {
                    EncryptedVector v = t.encryptDocument(docs[i], "doc-" + i, "embedding");
                    float[] ru = t.decryptPrefix(v);
                    double ip = t.prefixScore(eq, v);
                    double residualNorm = residualNorm(model, docs[i]);
                    double expected = uq2 + a * a + 1 - 2 * (ip + a * residualNorm);
                    assertEquals("L2 of the stage-1 prefixes", expected, VectorTransformTest.dist2(stageOne, ru), 1e-4);
                    double similarity = VectorTransform.similarity(q, docs[i], Space.COSINE);
                    assertEquals("the exact score ignores the prior", similarity, t.score(eq, v), 1e-4);
                }
            }
        }
    }

    /** ‖r‖ = √(1 − ‖u‖²) of a unit vector, u its first d_pub coordinates in the model's basis. */
    private static double residualNorm(EncryptionModel model, float[] x) {
        float[] basis = model.basis();
        int d = x.length;
        double xx = VectorTransform.dot(x, x);
        double u2 = 0;
        for (int k = 0; k < model.parameters().prefixDimension(); k++) {
            double c = 0;
            for (int j = 0; j < d; j++) {
                c += basis[k * d + j] * x[j];
            }
            u2 += c * c / xx;
        }
        return Math.sqrt(Math.max(0, 1 - u2));
    }

    /** Pairs of records whose order by L2 distance of the exact prefixes contradicts their prefix score order. */
    private static int inversions(EncryptionModel model, float[][] vectors) {
        int count = 0;
        try (VectorTransform t = new VectorTransform(model, keys)) {
            EncryptedVector[] enc = new EncryptedVector[100];
            float[][] ru = new float[enc.length][];
            for (int i = 0; i < enc.length; i++) {
                enc[i] = t.encryptDocument(vectors[i], "doc-" + i, "embedding");
                ru[i] = t.decryptPrefix(enc[i]);
            }
            for (int qi = 0; qi < 5; qi++) {
                EncryptedQuery eq = t.encryptQuery(queries[qi]);
                float[] rq = eq.rotatedPrefix();
                for (int i = 0; i < enc.length; i++) {
                    for (int j = i + 1; j < enc.length; j++) {
                        double ipDiff = t.prefixScore(eq, enc[i]) - t.prefixScore(eq, enc[j]);
                        double l2Diff = VectorTransformTest.dist2(rq, ru[i]) - VectorTransformTest.dist2(rq, ru[j]);
                        if (Math.abs(ipDiff) > 1e-4 && Math.signum(ipDiff) == Math.signum(l2Diff)) {
                            count++; // higher inner product but farther away
                        }
                    }
                }
            }
        }
        return count;
    }

    @Test
    public void rekeyDerivesTheAugmentationAgainAndStaysExact() {
        EncryptionModel m1 = fit(Space.COSINE, train, PrefixLayout.AUGMENTED);
        EncryptionModel m2 = m1.rotated();
        assertEquals(PrefixLayout.AUGMENTED, m2.prefixLayout());
        try (VectorTransform e1 = new VectorTransform(m1, keys);
                VectorTransform e2 = new VectorTransform(m2, keys)) {
            for (int i = 0; i < 50; i++) {
                EncryptedVector v1 = e1.encryptDocument(docs[i], "doc-" + i, "embedding");
                EncryptedVector v2 = e2.rekey(e1, v1, "doc-" + i, "embedding");
                assertEquals(DP + 1, v2.prefix().length);
                assertEquals(1.0, norm(e2.decryptPrefix(v2)), 1e-5);
                assertDecrypts(m2, docs[i], e2.decryptDocument(v2));
                EncryptedQuery q = e2.encryptQuery(queries[i % queries.length]);
                assertEquals(
                        VectorTransform.similarity(queries[i % queries.length], docs[i], Space.COSINE),
                        e2.score(q, v2),
                        1e-4);
                // the re-keyed prefix is the fresh encryption's up to float rounding (same u, same t', new key)
                EncryptedVector fresh = e2.encryptDocument(docs[i], v2.nonce());
                assertArrayEquals(e2.decryptPrefix(fresh), e2.decryptPrefix(v2), 1e-5f);
                assertEquals(fresh.cell(), v2.cell());
            }
        }
    }

    /** A prefix longer than B is refused naming the bound, as the residual padding refuses a residual beyond T. */
    @Test
    public void innerProductVectorBeyondThePrefixNormIsRefused() {
        EncryptionModel model = fit(Space.INNER_PRODUCT, train, PrefixLayout.AUGMENTED);
        float[] threeTimes = docs[0].clone();
        for (int j = 0; j < threeTimes.length; j++) {
            threeTimes[j] *= 3;
        }
        try (VectorTransform t = new VectorTransform(model, keys)) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> t.encryptDocument(threeTimes, "d", "f"));
            assertTrue(e.getMessage(), e.getMessage().contains("exceeds the prefix_norm"));
        }
    }

    /** The model JSON of {@code model}: its format and its (derived, public) prefix_layout checked. */
    private static String storedJson(EncryptionModel model, String format) {
        String json = ModelCodec.toJson(model, keys);
        assertTrue(json, json.contains("\"format\":\"" + format + "\""));
        assertTrue(
                json,
                json.contains("\"prefix_layout\":\"" + model.prefixLayout().wireName() + "\""));
        assertEquals(model, ModelCodec.fromJson(json, keys));
        return json;
    }

    @Test
    public void modelFormatV4CarriesTheLayoutAndBindsIt() {
        EncryptionModel model = fit(Space.COSINE, train, PrefixLayout.AUGMENTED);
        String json = storedJson(model, ModelCodec.FORMAT);
        assertTrue(json, json.contains("\"prefix_norm\":1.0"));
        ModelMetadata meta = ModelCodec.readMetadata(ModelCodec.publicJson(model));
        assertEquals(PrefixLayout.AUGMENTED, meta.prefixLayout());
        // prefix_norm is bound into the associated data, and required in v4
        for (String bad : new String[] {
            json.replace("\"prefix_norm\":1.0", "\"prefix_norm\":2.0"), json.replace(",\"prefix_norm\":1.0", "")
        }) {
            assertThrows(RuntimeException.class, () -> ModelCodec.fromJson(bad, keys));
        }
    }

    /** A plain model (what every model of v3 and before is) keeps format v3, width d_pub, and its records. */
    @Test
    public void plainModelRoundTripsInItsOwnFormat() {
        EncryptionModel plain = fit(Space.COSINE, train, PrefixLayout.PLAIN);
        String json = storedJson(plain, ModelCodec.FORMAT_V3);
        assertFalse(json, json.contains("prefix_norm"));
        EncryptionModel read = ModelCodec.fromJson(json, keys);
        assertEquals(DP, read.prefixWidth());
        try (VectorTransform before = new VectorTransform(plain, keys);
                VectorTransform after = new VectorTransform(read, keys)) {
            EncryptedVector v = before.encryptDocument(docs[1], "d", "f");
            assertArrayEquals(
                    v.prefix(), after.encryptDocument(docs[1], "d", "f").prefix(), 0f);
            EncryptedQuery q = after.encryptQuery(queries[1]);
            assertEquals(VectorTransform.similarity(queries[1], docs[1], Space.COSINE), after.score(q, v), 1e-4);
            assertNotEquals(1.0, norm(after.decryptPrefix(v)), 1e-3);
        }
    }

    /** decryptDocument gives x back: normalized for cosine, as it was for inner product. */
    private static void assertDecrypts(EncryptionModel model, float[] x, float[] decrypted) {
        if (model.parameters().space() == Space.COSINE) {
            assertEquals(1.0, norm(decrypted), 1e-5);
            assertEquals(1.0, VectorTransform.similarity(x, decrypted, Space.COSINE), 1e-6);
        } else {
            assertArrayEquals(x, decrypted, 1e-5f);
        }
    }

    private static double norm(float[] v) {
        return Math.sqrt(VectorTransform.dot(v, v));
    }
}
