package org.encryptedknn.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.SplittableRandom;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;
import org.junit.Test;

/**
 * What a keyed-mode request shows the data node about the SAP scale s. It used to carry the stage-1 prefix p_q and
 * the rescore prefix p_q / s², so ⟨p_q, p_q⟩ / ⟨p_q, prefix⟩ was s² exactly; now the rescore's prefix is p_q itself and
 * the residual queries are scaled instead (s²·H_c r_q), which the key holder undoes on the terms that come back.
 */
public class KeyedRequestTest {

    private static final int D = 32;

    @Test
    public void theRequestCarriesOnePrefixAndTheTermsComeBackExact() {
        SplittableRandom random = new SplittableRandom(4);
        float[][] sample = new float[300][D];
        for (float[] x : sample) {
            for (int i = 0; i < D; i++) {
                x[i] = (float) random.nextGaussian();
            }
        }
        try (KeyDerivation keys = new KeyDerivation(MasterKey.generate());
                VectorTransform t = new VectorTransform(
                        ModelFitter.fit("scale", new ModelParameters(D, Space.COSINE, 8, 4, 0.5, 1), sample), keys)) {
            EncryptedSearch search = new EncryptedSearch(t, "embedding", sample[7]);
            search.withCells(0, 1, 2, 3);
            ObjectNode body = search.keyedBody(50, 50, 10);

            JsonNode vector =
                    body.path("query").path("encrypted_knn").path("embedding").path("encrypted_vector");
            JsonNode query = body.path("rescore").path(RescoreQueryFormat.NAME).path(RescoreQueryFormat.QUERY);
            JsonNode prefix = query.path(RescoreQueryFormat.Query.PREFIX);
            assertEquals(vector.size(), prefix.size());
            double pp = 0;
            double pq = 0;
            for (int i = 0; i < vector.size(); i++) {
                pp += vector.get(i).asDouble() * vector.get(i).asDouble();
                pq += vector.get(i).asDouble() * prefix.get(i).asDouble();
            }
            double s2 = t.sap().scale() * t.sap().scale();
            assertTrue("test needs s > 1", s2 > 1.0001);
            // the ratio a data node can form from the two vectors is 1, not s² (it was s² before)
            assertEquals(1.0, pp / pq, 1e-6);

            // a data node's residual term from the wire form, divided back, is the exact ⟨H_c r_q, z⟩
            for (int i = 0; i < 40; i++) {
                EncryptedVector record = t.encryptDocument(sample[i], "d" + i, "embedding");
                JsonNode cell = query.path(RescoreQueryFormat.Query.CELLS).path(Integer.toString(record.cell()));
                float[] sent = EncryptedVector.decodeFloats(cell.asText());
                double term = 0;
                for (int j = 0; j < sent.length; j++) {
                    term += (double) sent[j] * record.keyedResidual()[j];
                }
                assertEquals(t.residualScore(search.query(), record), t.fromRescoreScale(term), 1e-5);
            }
        }
    }
}
