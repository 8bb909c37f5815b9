package org.encryptedknn.client;

import static org.junit.Assert.assertArrayEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.VectorTransform;
import org.junit.Test;

public class ExactSearchTest {

    /** The bounded heap gives what sorting every document gives: best first, ties by lower index. */
    @Test
    public void topKIsTheHeadOfTheFullOrder() {
        SplittableRandom r = new SplittableRandom(3);
        float[][] docs = new float[500][8];
        for (float[] d : docs) {
            for (int j = 0; j < d.length; j++) {
                d[j] = (float) r.nextGaussian();
            }
        }
        for (int i = 0; i < 60; i += 3) {
            docs[i + 200] = docs[i].clone(); // ties
        }
        for (int q = 0; q < 20; q++) {
            float[] query = docs[r.nextInt(docs.length)].clone();
            for (Space space : Space.values()) {
                int[] all = IntStream.range(0, docs.length)
                        .boxed()
                        .sorted(Comparator.comparingDouble(
                                        (Integer i) -> -VectorTransform.similarity(query, docs[i], space))
                                .thenComparingInt(i -> i))
                        .mapToInt(Integer::intValue)
                        .toArray();
                for (int k : new int[] {1, 10, 100}) {
                    assertArrayEquals(Arrays.copyOf(all, k), ExactSearch.topK(query, docs, k, space));
                }
                assertArrayEquals(all, ExactSearch.topK(query, docs, docs.length + 5, space));
            }
        }
    }
}
