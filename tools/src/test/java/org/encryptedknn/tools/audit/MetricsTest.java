package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.SplittableRandom;
import org.junit.Test;

public class MetricsTest {

    @Test
    public void aucOnKnownInputs() {
        assertEquals(1.0, Metrics.auc(new double[] {3, 4}, new double[] {1, 2}), 0);
        assertEquals(0.0, Metrics.auc(new double[] {1}, new double[] {2, 3}), 0);
        assertEquals(0.5, Metrics.auc(new double[] {1}, new double[] {1}), 0);
        assertEquals(0.5, Metrics.auc(new double[] {1, 3}, new double[] {2}), 0);
        // 3 of 4 (pos, neg) pairs ordered, one tie: (3 + 0.5) / 6
        assertEquals(3.5 / 6, Metrics.auc(new double[] {2, 5}, new double[] {1, 2, 6}), 1e-12);
        SplittableRandom r = new SplittableRandom(4);
        double[] a = new double[4000];
        double[] b = new double[4000];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextDouble();
            b[i] = r.nextDouble();
        }
        assertEquals(0.5, Metrics.auc(a, b), 0.03);
    }

    @Test
    public void nnOverlapOfIdenticalSetsIsOne() {
        SplittableRandom r = new SplittableRandom(5);
        float[][] xs = new float[300][16];
        for (float[] x : xs) {
            for (int j = 0; j < x.length; j++) {
                x[j] = (float) Sampling.gaussian(r);
            }
        }
        xs = Vectors.normalizedAll(xs);
        int[] probes = {0, 5, 17, 299};
        int[][] truth = NeighbourLeakage.trueNeighbours(xs, probes, 10);
        int[][] again = NeighbourLeakage.trueNeighbours(xs.clone(), probes, 10);
        assertEquals(1.0, Metrics.meanOverlap(truth, again, 10), 0);
        assertEquals(1.0, Metrics.overlap(new int[] {1, 2, 3}, new int[] {3, 2, 1}, 3), 0);
        assertEquals(1 / 3.0, Metrics.overlap(new int[] {1, 2, 3}, new int[] {3, 7, 8}, 3), 1e-12);
    }

    @Test
    public void topKAndThreshold() {
        double[] s = {0.1, 0.9, 0.5, Double.NaN, 0.7};
        assertArrayEquals(new int[] {1, 4, 2}, Vectors.topK(s, 3, -1));
        assertArrayEquals(new int[] {4, 2}, Vectors.topK(s, 2, 1));
        assertEquals(150, Metrics.threshold(new int[] {100, 200}, new double[] {0.0, 1.0}, 0.5), 1e-9);
        assertTrue(Double.isNaN(Metrics.threshold(new int[] {100, 200}, new double[] {0.0, 0.4}, 0.5)));
    }
}
