package org.encryptedknn.transform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Locale;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.junit.Test;

/** Score exactness on real MiniLM embeddings of the SpamAssassin test slice (200 messages). */
public class RealEmbeddingsTest {

    @Test
    public void fullScoreEqualsPlaintextCosineOnRealEmbeddings() {
        float[][] all = TestEmbeddings.real(200);
        assertEquals(384, all[0].length);
        float[][] docs = Arrays.copyOfRange(all, 0, 160);
        float[][] queries = Arrays.copyOfRange(all, 160, 200);
        EncryptionModel model = ModelFitter.fit("mail", new ModelParameters(384, Space.COSINE, 96, 4, 0.5, 1), docs);
        try (KeyDerivation keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));
                VectorTransform t = new VectorTransform(model, keys)) {
            byte[][] nonces = new byte[docs.length][];
            for (int i = 0; i < docs.length; i++) {
                nonces[i] = t.documentNonce(docs[i], "msg-" + i, "embedding");
            }
            EncryptedVector[] enc = t.encryptDocuments(docs, nonces);
            double worst = 0;
            for (float[] qv : queries) {
                EncryptedQuery q = t.encryptQuery(qv);
                for (int i = 0; i < docs.length; i++) {
                    worst = Math.max(
                            worst,
                            Math.abs(t.score(q, enc[i]) - VectorTransform.similarity(qv, docs[i], Space.COSINE)));
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "real MiniLM embeddings (%d docs, %d queries): beta scale %.4f, score error max %.2e%n",
                    docs.length,
                    queries.length,
                    model.betaScale(),
                    worst);
            assertTrue("score error " + worst, worst < 1e-4);
        }
    }
}
