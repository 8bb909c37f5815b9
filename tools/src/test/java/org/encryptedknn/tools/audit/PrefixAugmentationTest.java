package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.Test;

public class PrefixAugmentationTest {

    @Test
    public void augmentedDocumentPrefixesHaveOneNormAndQueriesAZeroCoordinate() {
        float[][] u = Vectors.normalizedAll(RekeyLinkageTest.synthetic(50, 8, 3));
        for (float[] x : u) {
            for (int k = 0; k < x.length; k++) {
                x[k] *= 0.5f + 0.01f * k;
            }
        }
        for (float[] a : PrefixAugmentation.augment(u, 2.0)) {
            assertEquals(2.0, Vectors.norm(a), 1e-6);
        }
        for (float[] q : PrefixAugmentation.augment(u, -1)) {
            assertEquals(0f, q[q.length - 1], 0f);
        }
    }

    /** Without noise the plain prefix norm re-identifies every record; the augmented one none beyond chance. */
    @Test
    public void augmentationClosesThePrefixNormChannel() {
        int d = 24;
        float[][] docs = Vectors.normalizedAll(RekeyLinkageTest.synthetic(600, d, 5));
        float[][] queries = Vectors.normalizedAll(RekeyLinkageTest.synthetic(40, d, 6));
        float[][] u = new float[docs.length][];
        float[][] uq = new float[queries.length][];
        for (int i = 0; i < docs.length; i++) {
            u[i] = Arrays.copyOf(docs[i], 8);
        }
        for (int i = 0; i < queries.length; i++) {
            uq[i] = Arrays.copyOf(queries[i], 8);
        }
        int[][] truth = new int[queries.length][];
        IntStream.range(0, queries.length)
                .forEach(i -> truth[i] = Vectors.topK(Vectors.dots(queries[i], docs), 10, -1));
        PrefixAugmentation.Result r = PrefixAugmentation.measure(
                new PrefixAugmentation.Inputs(u, uq, docs, queries, truth, new int[] {100}, 0), 1);
        assertTrue("plain prefix-norm R@1 " + r.plain().normR1(), r.plain().normR1() >= 0.9);
        assertTrue(
                "plain link across epochs " + r.plain().normLinkR1(), r.plain().normLinkR1() >= 0.9);
        assertTrue(
                "augmented prefix-norm R@1 " + r.augmented().normR1(),
                r.augmented().normR1() <= 0.05);
        assertTrue("augmented link " + r.augmented().normLinkR1(), r.augmented().normLinkR1() <= 0.05);
        assertTrue("recall " + r.augmented().recall()[0], r.augmented().recall()[0] > 0.5);
    }
}
