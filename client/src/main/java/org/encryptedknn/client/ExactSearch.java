package org.encryptedknn.client;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.VectorTransform;

/** Exact brute-force nearest neighbours over plaintext vectors: the ground truth that recall is measured against. */
public final class ExactSearch {

    private ExactSearch() {}

    /** Indices of the {@code k} documents most similar to {@code query}, best first. */
    public static int[] topK(float[] query, float[][] docs, int k, Space space) {
        double[] scores = new double[docs.length];
        Integer[] order = new Integer[docs.length];
        for (int i = 0; i < docs.length; i++) {
            scores[i] = VectorTransform.similarity(query, docs[i], space);
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));
        int[] top = new int[Math.min(k, docs.length)];
        for (int i = 0; i < top.length; i++) {
            top[i] = order[i];
        }
        return top;
    }

    /** {@link #topK} as document ids, for documents indexed with ids "0", "1", …. */
    public static List<String> topKIds(float[] query, float[][] docs, int k, Space space) {
        List<String> ids = new ArrayList<>();
        for (int i : topK(query, docs, k, space)) {
            ids.add(Integer.toString(i));
        }
        return ids;
    }
}
