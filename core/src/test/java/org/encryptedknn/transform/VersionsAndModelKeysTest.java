package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Instant;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.ModelDecryptionException;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Issue 15: noise is not reused across versions of a document; a model created again under the same id derives
 * other keys; a closed transform never computes with zeroed keys.
 */
public class VersionsAndModelKeysTest {

    private static final int D = 48;
    private static KeyDerivation keys;
    private static float[][] sample;

    @BeforeClass
    public static void setUp() {
        keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));
        SplittableRandom random = new SplittableRandom(15);
        sample = new float[400][D];
        for (float[] x : sample) {
            for (int i = 0; i < D; i++) {
                x[i] = (float) random.nextGaussian();
            }
        }
    }

    @AfterClass
    public static void tearDown() {
        keys.close();
    }

    private static EncryptionModel fit(String id) {
        return ModelFitter.fit(id, new ModelParameters(D, Space.COSINE, 12, 4, 0.5, 1), sample);
    }

    /**
     * Two versions of one _id in one epoch: with the noise PRF(_id, field, epoch) of before, p1 − p2 was exactly
     * s·R(u1 − u2) (the noise cancelled) for anyone holding both copies. Now the residual of that identity is as large
     * as the noise itself; an unchanged vector still encrypts bit-identically.
     */
    @Test
    public void twoVersionsOfOneIdDoNotCancelTheNoise() {
        try (VectorTransform t = new VectorTransform(fit("versions"), keys)) {
            assertTrue("test needs noise", t.sap().documentRadius() > 0);
            int cancelled = 0;
            for (int trial = 0; trial < 20; trial++) {
                float[] x1 = sample[trial];
                float[] x2 = sample[trial].clone();
                x2[trial % D] += 0.05f; // an edited version of the document
                EncryptedVector v1 = t.encryptDocument(x1, "doc-7", "embedding");
                EncryptedVector v2 = t.encryptDocument(x2, "doc-7", "embedding");
                if (noiseCancels(t, v1, v2)) {
                    cancelled++;
                }
                // control: the nonce of before was the same for both versions; then the noise cancels exactly
                byte[] shared = v1.nonce();
                assertTrue(noiseCancels(t, t.encryptDocument(x1, shared), t.encryptDocument(x2, shared)));
                EncryptedVector again = t.encryptDocument(x1.clone(), "doc-7", "embedding");
                assertArrayEquals(v1.prefix(), again.prefix(), 0f);
                assertArrayEquals(v1.nonce(), again.nonce());
                assertArrayEquals(v1.keyedResidual(), again.keyedResidual(), 0f);
            }
            assertEquals("versions whose noise cancelled in p1 − p2", 0, cancelled);
        }
    }

    /** ‖(p1 − p2) − s·(R u1 − R u2)‖ below 1 % of the noise radius: the difference of the prefixes is noise-free. */
    private static boolean noiseCancels(VectorTransform t, EncryptedVector v1, EncryptedVector v2) {
        float[] ru1 = t.decryptPrefix(v1);
        float[] ru2 = t.decryptPrefix(v2);
        double s = t.sap().scale();
        double off = 0;
        for (int i = 0; i < ru1.length; i++) {
            double diff = (v1.prefix()[i] - v2.prefix()[i]) - s * (ru1[i] - ru2[i]);
            off += diff * diff;
        }
        return Math.sqrt(off) < 0.01 * t.sap().documentRadius();
    }

    /** A re-keyed record follows the same rule: a different source record gets a different new nonce. */
    @Test
    public void rekeyedVersionsGetFreshNoise() {
        EncryptionModel m = fit("rekeyed");
        try (VectorTransform t1 = new VectorTransform(m, keys, 1);
                VectorTransform t2 = new VectorTransform(m.withEpoch(2), keys, 2)) {
            EncryptedVector a = t1.encryptDocument(sample[0], "doc-1", "embedding");
            EncryptedVector b = t1.encryptDocument(sample[1], "doc-1", "embedding");
            EncryptedVector a2 = t2.rekey(t1, a, "doc-1", "embedding");
            assertFalse(Arrays.equals(
                    a2.nonce(), t2.rekey(t1, b, "doc-1", "embedding").nonce()));
            assertArrayEquals(a2.nonce(), t2.rekey(t1, a, "doc-1", "embedding").nonce());
        }
    }

    /** Deleting a model and creating one with the same id (and the same data) must not revive any of its keys. */
    @Test
    public void recreatedModelIdDerivesDifferentKeys() {
        EncryptionModel first = fit("reused-id");
        EncryptionModel second = fit("reused-id");
        assertTrue(first.hasKeySalt());
        assertFalse(Arrays.equals(first.keySalt(), second.keySalt()));
        assertArrayEquals(first.basis(), second.basis(), 0f); // same fitted secrets: only the salt differs
        for (int epoch = 1; epoch <= 2; epoch++) {
            try (VectorTransform a = new VectorTransform(first.withEpoch(epoch), keys, epoch);
                    VectorTransform b = new VectorTransform(second.withEpoch(epoch), keys, epoch)) {
                assertFalse(Arrays.equals(a.prefixRotation(), b.prefixRotation()));
                assertFalse(Arrays.equals(a.cellKey(0), b.cellKey(0)));
                assertNotEquals(a.sap().scale(), b.sap().scale(), 0);
                EncryptedVector ea = a.encryptDocument(sample[3], "doc", "embedding");
                EncryptedVector eb = b.encryptDocument(sample[3], "doc", "embedding");
                assertFalse(Arrays.equals(ea.nonce(), eb.nonce()));
                assertFalse(Arrays.equals(ea.keyedResidual(), eb.keyedResidual()));
            }
        }
    }

    /** The same fitted model as the plugin stored it before the key salt and residual padding: format v1. */
    private static EncryptionModel formatV1(EncryptionModel v2) {
        return new EncryptionModel(
                v2.id(),
                v2.parameters(),
                Instant.parse("2026-01-01T00:00:00Z"),
                v2.betaScale(),
                v2.sampleCount(),
                v2.basis(),
                v2.centroids(),
                null,
                0,
                0,
                0,
                0); // plain prefix layout
    }

    /** A model of format v1 (no salt) keeps its v1 keys, so indices written under it stay readable. */
    @Test
    public void modelOfFormatV1KeepsV1Keys() {
        EncryptionModel v2 = fit("legacy");
        EncryptionModel v1 = formatV1(v2);
        String json = ModelCodec.toJson(v1, keys);
        assertTrue(json, json.contains("\"format\":\"" + ModelCodec.FORMAT_V1 + "\""));
        EncryptionModel read = ModelCodec.fromJson(json, keys);
        assertFalse(read.hasKeySalt());
        assertFalse(read.hasResidualPadding());
        assertEquals(v1, read);
        try (VectorTransform t = new VectorTransform(read, keys)) {
            byte[] seed = keys.prefixRotationSeed("legacy", null, 1);
            assertArrayEquals(HaarOrthogonal.derive(seed, 12), t.prefixRotation(), 0);
            byte[] v2seed = keys.prefixRotationSeed("legacy", v2.keySalt(), 1);
            assertFalse(Arrays.equals(seed, v2seed));
            // its records keep the unpadded residual z = H_c r: existing indices stay readable
            EncryptedVector v = t.encryptDocument(sample[0], "doc", "embedding");
            assertEquals(D - 12, v.keyedResidual().length);
            assertEquals(
                    t.score(t.encryptQuery(sample[1]), v),
                    VectorTransform.similarity(sample[0], sample[1], Space.COSINE),
                    1e-4);
        }
    }

    /**
     * Migration v1 → v2: {@code _rotate} of a v1 model upgrades it (fresh salt, residual padding from the new epoch on);
     * the old epoch keeps its v1 keys (its records still score), and a record re-keyed from it gets the padded layout
     * of norm T without the plaintext, with the same exact score. The upgrade is sealed: editing upgraded_at_epoch in
     * the stored JSON breaks decryption.
     */
    @Test
    public void rotatingAModelOfFormatV1UpgradesItAndRekeysItsRecordsToV2() {
        EncryptionModel v1 = formatV1(fit("upgrade"));
        EncryptionModel upgraded = ModelCodec.fromJson(ModelCodec.toJson(v1.rotated(), keys), keys);
        assertEquals(2, upgraded.epoch());
        assertEquals(2, upgraded.upgradedAtEpoch());
        assertTrue(upgraded.hasKeySalt());
        assertTrue(upgraded.epochIsV1(1));
        assertFalse(upgraded.epochIsV1(2));
        assertEquals(D - 12, upgraded.residualLengthAt(1));
        assertEquals(D - 12 + 1, upgraded.residualLengthAt(2));
        String json = ModelCodec.toJson(upgraded, keys);
        assertTrue(json, json.contains("\"upgraded_at_epoch\":2"));
        assertThrows(
                ModelDecryptionException.class,
                () -> ModelCodec.fromJson(json.replace("\"upgraded_at_epoch\":2", "\"upgraded_at_epoch\":1"), keys));
        assertEquals(upgraded.upgradedAtEpoch(), upgraded.rotated().upgradedAtEpoch()); // later rotations stay v2

        try (VectorTransform old = new VectorTransform(v1, keys);
                VectorTransform oldAfter = new VectorTransform(upgraded, keys, 1);
                VectorTransform next = new VectorTransform(upgraded, keys)) {
            assertArrayEquals("epoch 1 keeps its v1 keys", old.prefixRotation(), oldAfter.prefixRotation(), 0);
            for (int i = 0; i < 20; i++) {
                EncryptedVector record = old.encryptDocument(sample[i], "doc-" + i, "embedding");
                assertEquals(D - 12, record.keyedResidual().length);
                EncryptedQuery q1 = oldAfter.encryptQuery(sample[399 - i]);
                double expected = VectorTransform.similarity(sample[399 - i], sample[i], Space.COSINE);
                assertEquals(expected, oldAfter.score(q1, record), 1e-4);

                EncryptedVector rekeyed = next.rekey(oldAfter, record, "doc-" + i, "embedding");
                assertEquals(2, rekeyed.epoch());
                assertEquals(D - 12 + 1, rekeyed.keyedResidual().length);
                assertEquals(
                        1.0, Math.sqrt(VectorTransform.dot(rekeyed.keyedResidual(), rekeyed.keyedResidual())), 1e-5);
                assertEquals(expected, next.score(next.encryptQuery(sample[399 - i]), rekeyed), 1e-4);
                // the same as a document encrypted at epoch 2 from the plaintext, up to the noise of another nonce
                EncryptedVector fresh = next.encryptDocument(sample[i], "doc-" + i, "embedding");
                assertArrayEquals(fresh.keyedResidual(), rekeyed.keyedResidual(), 1e-5f);
            }
            EncryptedVector padded = next.encryptDocument(sample[0], "doc", "embedding");
            assertThrows(IllegalArgumentException.class, () -> oldAfter.rekey(next, padded, "doc", "embedding"));
        }
    }

    /**
     * Closing a transform while other threads encrypt with it (the gateway's forced key close) never lets a request
     * compute with half-zeroed keys: every result is either the right ciphertext or an IllegalStateException.
     */
    @Test
    public void closeDuringUseNeverYieldsAWrongCiphertext() throws Exception {
        EncryptionModel m = fit("closing");
        EncryptedVector[] expected = new EncryptedVector[sample.length];
        try (VectorTransform reference = new VectorTransform(m, keys)) {
            for (int i = 0; i < sample.length; i++) {
                expected[i] = reference.encryptDocument(sample[i], "d" + i, "embedding");
            }
        }
        for (int round = 0; round < 5; round++) {
            VectorTransform t = new VectorTransform(m, keys);
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            AtomicReference<String> wrong = new AtomicReference<>();
            Thread[] workers = new Thread[2];
            for (int w = 0; w < workers.length; w++) {
                workers[w] = new Thread(() -> {
                    for (int i = 0; i < sample.length; i++) {
                        try {
                            EncryptedVector v = t.encryptDocument(sample[i], "d" + i, "embedding");
                            if (!Arrays.equals(v.prefix(), expected[i].prefix())
                                    || !Arrays.equals(v.keyedResidual(), expected[i].keyedResidual())) {
                                wrong.set("document " + i);
                            }
                            ok.incrementAndGet();
                        } catch (IllegalStateException e) {
                            refused.incrementAndGet();
                        }
                    }
                });
                workers[w].start();
            }
            Thread.sleep(2L * round);
            t.close();
            for (Thread w : workers) {
                w.join();
            }
            assertEquals("a request computed with zeroed keys", null, wrong.get());
            assertEquals(2 * sample.length, ok.get() + refused.get());
            assertTrue(t.isClosed());
        }
    }
}
