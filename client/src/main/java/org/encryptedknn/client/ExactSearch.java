package org.encryptedknn.client;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.VectorTransform;

/** Exact brute-force nearest neighbours over plaintext vectors: the ground truth that recall is measured against. */
public final class ExactSearch {

    private ExactSearch() {}

    /**
     * Indices of the {@code k} documents most similar to {@code query}, best first (ties: lower index first). One pass
     * with a bounded heap, so that ground truth over 10^6 documents costs one scan per query.
     */
    public static int[] topK(float[] query, float[][] docs, int k, Space space) {
        int size = Math.min(k, docs.length);
        // min-heap of the best so far: the worst of them on top, replaced when a better document comes
        int[] heap = new int[size];
        double[] heapScore = new double[size];
        int filled = 0;
        for (int i = 0; i < docs.length; i++) {
            double s = VectorTransform.similarity(query, docs[i], space);
            if (filled < size) {
                heap[filled] = i;
                heapScore[filled] = s;
                siftUp(heap, heapScore, filled++);
            } else if (size > 0 && s > heapScore[0]) {
                heap[0] = i;
                heapScore[0] = s;
                siftDown(heap, heapScore, size);
            }
        }
        Integer[] order = new Integer[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        Arrays.sort(
                order,
                (a, b) -> heapScore[a] != heapScore[b]
                        ? Double.compare(heapScore[b], heapScore[a])
                        : Integer.compare(heap[a], heap[b]));
        int[] top = new int[size];
        for (int i = 0; i < size; i++) {
            top[i] = heap[order[i]];
        }
        return top;
    }

    // heap order: a worse score is "smaller"; at equal scores the later document is the worse one
    private static boolean worse(int[] heap, double[] score, int a, int b) {
        return score[a] != score[b] ? score[a] < score[b] : heap[a] > heap[b];
    }

    private static void siftUp(int[] heap, double[] score, int i) {
        while (i > 0 && worse(heap, score, i, (i - 1) / 2)) {
            swap(heap, score, i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
    }

    private static void siftDown(int[] heap, double[] score, int size) {
        int i = 0;
        while (true) {
            int smallest = i;
            for (int child = 2 * i + 1; child <= 2 * i + 2 && child < size; child++) {
                if (worse(heap, score, child, smallest)) {
                    smallest = child;
                }
            }
            if (smallest == i) {
                return;
            }
            swap(heap, score, i, smallest);
            i = smallest;
        }
    }

    private static void swap(int[] heap, double[] score, int a, int b) {
        int h = heap[a];
        heap[a] = heap[b];
        heap[b] = h;
        double s = score[a];
        score[a] = score[b];
        score[b] = s;
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
