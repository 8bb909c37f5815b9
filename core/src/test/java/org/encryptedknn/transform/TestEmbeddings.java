package org.encryptedknn.transform;

import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.corpus.SyntheticEmbeddings;

/**
 * The one place core tests get 384-d embeddings from: {@link #real} gives real all-MiniLM-L6-v2 embeddings of
 * the SpamAssassin corpus ({@link EmbeddedCorpus#forTests}, cached after the first run); {@link #vectors} gives
 * synthetic ones ({@link SyntheticEmbeddings}: common mean direction + topic centres + decaying spectrum,
 * normalized) where a test needs more vectors than the test slice holds.
 */
public final class TestEmbeddings {

    public static final int DIMENSION = 384;
    private static final SyntheticEmbeddings SOURCE = new SyntheticEmbeddings(DIMENSION, 40, 20240601L);

    private TestEmbeddings() {}

    /** {@code n} normalized 384-d vectors; disjoint seeds give disjoint samples. */
    public static float[][] vectors(int n, long seed) {
        return SOURCE.sample(n, seed);
    }

    /** The first {@code n} (≤ 1000) real embeddings of the corpus test slice. */
    public static float[][] real(int n) {
        return EmbeddedCorpus.forTests(n).vectors();
    }

    public static String source() {
        return "synthetic (SyntheticEmbeddings, 40 topics)";
    }

    /** Copies of the vectors of different lengths, ×0.5 … ×1.5 by index (inner-product models). */
    public static float[][] ofDifferentLengths(float[][] vectors) {
        float[][] out = new float[vectors.length][];
        for (int i = 0; i < vectors.length; i++) {
            float f = 0.5f + (i % 11) / 10f;
            out[i] = vectors[i].clone();
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] *= f;
            }
        }
        return out;
    }
}
