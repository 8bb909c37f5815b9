package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.junit.Test;

public class WindowTermsTest {

    @Test
    public void parallelTermsEqualTheOneThreadComputation() {
        float[][] train = TestEmbeddings.vectors(600, 11);
        float[][] docs = TestEmbeddings.vectors(203, 12);
        float[] q = TestEmbeddings.vectors(1, 13)[0];
        EncryptionModel model = ModelFitter.fit(
                "w1", new ModelParameters(TestEmbeddings.DIMENSION, Space.COSINE, 96, 16, 0.5, 1), train);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (KeyDerivation keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));
                VectorTransform t = new VectorTransform(model, keys)) {
            EncryptedQuery query = t.encryptQuery(q);
            List<EncryptedVector> records = new ArrayList<>();
            boolean[] carriesZ = new boolean[docs.length];
            for (int i = 0; i < docs.length; i++) {
                records.add(t.encryptDocument(docs[i], "d" + i, "f"));
                carriesZ[i] = i % 3 != 0; // every third record's term would come from the data node
            }
            Map<Long, float[]> keyed = new HashMap<>();
            int known = records.get(1).cell();
            float[] computedBefore = t.keyedResidualQuery(query, known);
            keyed.put(WindowTerms.cellKey(t.epoch(), known), computedBefore);

            double[] terms = WindowTerms.compute(records, carriesZ, e -> t, e -> query, keyed, pool, 2);

            for (int i = 0; i < records.size(); i++) {
                assertEquals("record " + i, t.prefixScore(query, records.get(i)), terms[i], 0.0);
            }
            Map<Long, float[]> expected = new HashMap<>();
            for (int i = 0; i < records.size(); i++) {
                if (carriesZ[i]) {
                    int cell = records.get(i).cell();
                    expected.put(WindowTerms.cellKey(t.epoch(), cell), t.keyedResidualQuery(query, cell));
                }
            }
            expected.putIfAbsent(WindowTerms.cellKey(t.epoch(), known), computedBefore);
            assertEquals("only the cells of records with z, plus the one known", expected.keySet(), keyed.keySet());
            for (Map.Entry<Long, float[]> e : expected.entrySet()) {
                assertArrayEquals(e.getValue(), keyed.get(e.getKey()), 0f);
            }
            assertSame(
                    "a query already known is kept", computedBefore, keyed.get(WindowTerms.cellKey(t.epoch(), known)));
        } finally {
            pool.shutdownNow();
        }
    }
}
