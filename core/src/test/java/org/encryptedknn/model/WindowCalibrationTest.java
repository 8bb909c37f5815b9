package org.encryptedknn.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.TestEmbeddings;
import org.encryptedknn.transform.VectorTransform;
import org.encryptedknn.transform.VectorTransformTest;
import org.junit.Test;

/**
 * The model's default window: measured at fit time on the training sample, it must reach the target recall@10 on
 * vectors the fit never saw, searched through the real transform (SAP-encrypted prefixes, exact rerank).
 */
public class WindowCalibrationTest {

    private static final int D = TestEmbeddings.DIMENSION;

    @Test
    public void storedWindowReachesTheTargetOnHeldOutSyntheticVectors() {
        float[][] sample = TestEmbeddings.vectors(3000, 11);
        float[][] heldOut = TestEmbeddings.vectors(3000, 12);
        checkHeldOut(sample, heldOut, 0.95, 300);
    }

    @Test
    public void storedWindowReachesTheTargetOnHeldOutRealEmbeddings() {
        float[][] real = TestEmbeddings.real(1000);
        checkHeldOut(Arrays.copyOf(real, 500), Arrays.copyOfRange(real, 500, 1000), 0.95, 50);
    }

    /**
     * Fits on {@code sample}; searches {@code queries} of the held-out vectors among the rest through the real
     * transform with the model's default window for that many documents; recall@10 must reach the target within
     * the sampling error of that many neighbours (3 standard deviations of a binomial at the target).
     */
    private static void checkHeldOut(float[][] sample, float[][] heldOut, double target, int queries) {
        EncryptionModel model =
                ModelFitter.fit("calibrated", ModelParameters.defaults(D, Space.COSINE), sample, Instant.EPOCH, target);
        WindowCalibration c = model.calibration();
        assertNotNull("a sample of " + sample.length + " is calibrated", c);
        float[][] docs = Arrays.copyOfRange(heldOut, queries, heldOut.length);
        float[][] qs = Arrays.copyOf(heldOut, queries);
        int window = model.defaultWindow(docs.length);
        try (KeyDerivation keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));
                VectorTransform transform = new VectorTransform(model, keys)) {
            EncryptedVector[] encrypted = new EncryptedVector[docs.length];
            for (int i = 0; i < docs.length; i++) {
                encrypted[i] = transform.encryptDocument(docs[i], "doc-" + i, "embedding");
            }
            double recall = 0;
            for (float[] q : qs) {
                int[] truth = VectorTransformTest.topByScore(
                        docs.length, i -> VectorTransform.similarity(q, docs[i], Space.COSINE), 10);
                recall += VectorTransformTest.recallAt10(transform, encrypted, transform.encryptQuery(q), truth, window)
                        / qs.length;
            }
            double sd = Math.sqrt(target * (1 - target) / (10.0 * qs.length));
            assertTrue(
                    "recall@10 " + recall + " with the calibrated window " + window + " (" + c + ") misses " + target,
                    recall >= target - 3 * sd);
        }
    }

    @Test
    public void calibrationIsDeterministicAndGrowsWithTheTarget() {
        float[][] sample = TestEmbeddings.vectors(1500, 21);
        ModelParameters p = ModelParameters.defaults(D, Space.COSINE);
        WindowCalibration a = ModelFitter.fit("a", p, sample, 0.95).calibration();
        WindowCalibration b = ModelFitter.fit("b", p, sample, 0.95).calibration();
        assertEquals(a, b);
        int low = ModelFitter.fit("c", p, sample, 0.8).calibration().window();
        int high = ModelFitter.fit("d", p, sample, 0.99).calibration().window();
        assertTrue(low + " < " + a.window() + " < " + high, low < a.window() && a.window() < high);
        // the curve is the recall the window was chosen from: below the target before it, at or above it after
        for (WindowCalibration.Point pt : a.curve()) {
            if (pt.window() < a.window()) {
                assertTrue(pt.toString(), pt.recall() < 0.95);
            } else {
                assertTrue(pt.toString(), pt.recall() >= 0.95);
            }
        }
        // measured on the half of the sample the basis was not fitted on
        assertEquals(675, a.referenceSize());
        assertEquals(75, a.queries());
    }

    @Test
    public void noiseNeedsALargerWindow() {
        float[][] sample = TestEmbeddings.vectors(1500, 22);
        ModelParameters p = ModelParameters.defaults(D, Space.COSINE);
        int quiet = ModelFitter.fit("q", p.withBeta(0.1), sample).calibration().window();
        int noisy = ModelFitter.fit("n", p.withBeta(1.5), sample).calibration().window();
        assertTrue(quiet + " < " + noisy, quiet < noisy);
    }

    @Test
    public void windowScalesWithTheIndexBeyondTheReferenceSize() {
        WindowCalibration c =
                new WindowCalibration(0.95, 40, 1000, 100, 0.5, List.of(new WindowCalibration.Point(10, 0.7)));
        assertEquals(40, c.windowFor(0));
        assertEquals(40, c.windowFor(1000));
        assertEquals(80, c.windowFor(4000));
        assertEquals(WindowCalibration.MAX_WINDOW, c.windowFor(Long.MAX_VALUE / 2));
        assertEquals(WindowCalibration.FALLBACK_WINDOW, WindowCalibration.defaultWindow(null, 1_000_000));
    }

    @Test
    public void growthIsTheLogLogSlopeWithinItsBounds() {
        assertEquals(1.0, WindowCalibrator.growth(new int[] {4000, 2000, 1000}, new int[] {400, 200, 100}), 1e-9);
        assertEquals(
                0.7,
                WindowCalibrator.growth(new int[] {4000, 2000}, new int[] {(int) (100 * Math.pow(2, 0.7)), 100}),
                0.01);
        // flat or at the floor of 10: the minimum, which errs on the side of recall
        assertEquals(
                WindowCalibrator.MIN_GROWTH, WindowCalibrator.growth(new int[] {4000, 2000}, new int[] {50, 50}), 0);
        assertEquals(
                WindowCalibrator.MIN_GROWTH, WindowCalibrator.growth(new int[] {4000, 2000}, new int[] {10, 10}), 0);
        assertEquals(WindowCalibrator.MIN_GROWTH, WindowCalibrator.growth(new int[] {4000}, new int[] {60}), 0);
    }

    @Test
    public void aSampleTooSmallToHoldQueriesOutHasTheFallbackWindow() {
        EncryptionModel m = ModelFitter.fit(
                "tiny", new ModelParameters(D, Space.COSINE, 96, 4, 0.5, 1), TestEmbeddings.vectors(60, 3));
        assertNull(m.calibration());
        assertEquals(WindowCalibration.FALLBACK_WINDOW, m.defaultWindow(5000));
    }

    @Test
    public void targetOutsideItsRangeIsRefusedNamingIt() {
        for (double bad : new double[] {0, -0.5, 1.01, Double.NaN}) {
            try {
                ModelFitter.fit("t", ModelParameters.defaults(D, Space.COSINE), TestEmbeddings.vectors(200, 4), bad);
                fail("accepted target " + bad);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("target_recall must be in (0, 1]"));
            }
        }
    }

    @Test
    public void calibrationIsPublicAuthenticatedAndVersioned() {
        try (KeyDerivation keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY))) {
            // the plain prefix layout: format v3 (an augmented model is v4, PrefixAugmentationTest)
            EncryptionModel m = ModelFitter.fit(
                    "cal",
                    ModelParameters.defaults(D, Space.COSINE),
                    TestEmbeddings.vectors(1200, 5),
                    Instant.EPOCH,
                    WindowCalibration.DEFAULT_TARGET_RECALL,
                    PrefixLayout.PLAIN);
            String json = ModelCodec.toJson(m, keys);
            assertTrue(json, json.contains("\"format\":\"" + ModelCodec.FORMAT_V3 + "\""));
            assertEquals(m, ModelCodec.fromJson(json, keys));
            String pub = ModelCodec.publicJson(m);
            assertTrue(
                    pub,
                    pub.contains("\"calibration\":{\"target_recall\":0.95,\"k\":"
                            + m.calibration().window()));
            assertFalse(pub, pub.contains("secret"));
            assertEquals(m.calibration(), ModelCodec.readMetadata(pub).calibration());

            String altered = json.replace(
                    "\"k\":" + m.calibration().window() + ",",
                    "\"k\":" + (m.calibration().window() + 1) + ",");
            assertFalse(altered.equals(json));
            try {
                ModelCodec.fromJson(altered, keys);
                fail("accepted an altered window");
            } catch (ModelDecryptionException expected) {
                // the calibration is bound into the AAD
            }

            // a model stored before calibration (format v2) still opens, with the fallback window
            EncryptionModel v2 = m.withCalibration(null);
            String v2json = ModelCodec.toJson(v2, keys);
            assertTrue(v2json, v2json.contains("\"format\":\"" + ModelCodec.FORMAT_V2 + "\""));
            assertFalse(v2json, v2json.contains("calibration"));
            EncryptionModel back = ModelCodec.fromJson(v2json, keys);
            assertNull(back.calibration());
            assertEquals(WindowCalibration.FALLBACK_WINDOW, back.defaultWindow(6000));
            assertEquals(v2, back);

            // v3 without its calibration, or v2 with one, is malformed
            for (String bad : new String[] {
                json.replaceAll("\"calibration\":\\{.*?\\]\\},", ""),
                v2json.replace(
                        "\"residual_norm\"",
                        pub.substring(pub.indexOf("\"calibration\""), pub.indexOf("]}") + 2) + ",\"residual_norm\"")
            }) {
                try {
                    ModelCodec.fromJson(bad, keys);
                    fail("accepted " + bad);
                } catch (IllegalArgumentException e) {
                    assertTrue(
                            e.getMessage(),
                            e.getMessage().contains("calibration is required in " + ModelCodec.FORMAT_V3));
                }
            }
        }
    }
}
