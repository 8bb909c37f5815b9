package org.encryptedknn.shard;

import org.encryptedknn.bench.SyntheticEmbeddings;

/**
 * The one place tests get realistic 384-d embeddings from. Today: {@link SyntheticEmbeddings} (common mean
 * direction + topic centres + decaying spectrum, normalized). Switch {@link #vectors} to the real
 * corpus (org.encryptedknn.corpus.EmbeddedCorpus) when it is available in the build.
 */
final class TestEmbeddings {

    static final int DIMENSION = 384;
    private static final SyntheticEmbeddings SOURCE = new SyntheticEmbeddings(DIMENSION, 40, 20240601L);

    private TestEmbeddings() {}

    /** {@code n} normalized 384-d vectors; disjoint seeds give disjoint samples. */
    static float[][] vectors(int n, long seed) {
        return SOURCE.sample(n, seed);
    }

    static String source() {
        return "synthetic (SyntheticEmbeddings, 40 topics)";
    }
}
