package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Instant;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.model.WindowCalibration;
import org.junit.Test;

public class PrefixAugmentationTest {

    /**
     * Without SAP noise the plain prefix norm re-identifies every record and links it across a re-key; the augmented
     * one (every ‖p‖ = s·B) does neither beyond chance, and recall stays.
     */
    @Test
    public void augmentationClosesThePrefixNormChannel() {
        int d = 24;
        int dp = 8;
        float[][] docs = Vectors.normalizedAll(RekeyLinkageTest.synthetic(600, d, 5));
        float[][] queries = Vectors.normalizedAll(RekeyLinkageTest.synthetic(40, d, 6));
        int[][] truth = new int[queries.length][];
        IntStream.range(0, queries.length)
                .forEach(i -> truth[i] = Vectors.topK(Vectors.dots(queries[i], docs), 10, -1));
        ModelParameters params = new ModelParameters(d, Space.COSINE, dp, 4, 0.0, 1);
        try (MasterKey mk = MasterKey.generate();
                KeyDerivation keys = new KeyDerivation(mk)) {
            PrefixAugmentation.Variant[] v = new PrefixAugmentation.Variant[2];
            for (PrefixLayout layout : PrefixLayout.values()) {
                EncryptionModel model = ModelFitter.fit(
                        "aug", params, docs, Instant.EPOCH, WindowCalibration.DEFAULT_TARGET_RECALL, layout);
                double[] uNorm = NormReidentification.norms(Vectors.project(docs, model.basis(), d, 0, dp));
                v[layout.ordinal()] =
                        PrefixAugmentation.measure(model, keys, docs, uNorm, queries, truth, new int[] {100}, 300, 1);
                assertEquals(layout, v[layout.ordinal()].layout());
            }
            PrefixAugmentation.Variant plain = v[PrefixLayout.PLAIN.ordinal()];
            PrefixAugmentation.Variant augmented = v[PrefixLayout.AUGMENTED.ordinal()];
            assertTrue("plain prefix-norm R@1 " + plain.normR1(), plain.normR1() >= 0.9);
            assertTrue("plain link across a re-key " + plain.rekeyNormR1(), plain.rekeyNormR1() >= 0.9);
            assertTrue("plain AUC " + plain.rekeyNormAuc(), plain.rekeyNormAuc() >= 0.95);
            assertTrue("augmented prefix-norm R@1 " + augmented.normR1(), augmented.normR1() <= 0.05);
            assertTrue("augmented link " + augmented.rekeyNormR1(), augmented.rekeyNormR1() <= 0.05);
            assertTrue("augmented AUC " + augmented.rekeyNormAuc(), augmented.rekeyNormAuc() <= 0.65);
            assertTrue(
                    "recall " + Arrays.toString(augmented.recall()), augmented.recall()[0] > 0.9);
        }
    }
}
