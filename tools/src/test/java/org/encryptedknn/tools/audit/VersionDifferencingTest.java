package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.Test;

public class VersionDifferencingTest {

    /** A nonce that depends on the id only, as PRF(_id, field, epoch) does. */
    private static byte[] idNonce(String id) {
        return Arrays.copyOf(id.getBytes(StandardCharsets.UTF_8), 16);
    }

    @Test
    public void reusedNonceCancelsTheNoiseAndFreshNoiseDoesNot() {
        try (AttackFixture f = new AttackFixture(300, 8)) {
            int n = 100;
            float[][] first = Arrays.copyOf(f.docs, n);
            float[][] second = new float[n][];
            String[] ids = new String[n];
            for (int i = 0; i < n; i++) {
                float[] x = f.docs[n + i];
                float[] y = new float[AttackFixture.D];
                for (int k = 0; k < y.length; k++) {
                    y[k] = 0.8f * first[i][k] + 0.2f * x[k];
                }
                second[i] = Vectors.normalized(y);
                ids[i] = "v" + i;
            }
            VersionDifferencing.Result r = VersionDifferencing.measure(
                    f.transform,
                    (x, id) -> f.transform.encryptDocument(x, idNonce(id)),
                    first,
                    second,
                    f.plainPrefix(first),
                    f.plainPrefix(second),
                    ids);
            assertEquals(1.0, r.revealed(), 0);
            assertTrue("norm error " + r.meanNormError(), r.meanNormError() < 1e-3);
            assertTrue("control cosine " + r.controlCosine(), r.controlCosine() < 0.9);
            assertEquals(0.0, r.controlRevealed(), 0);
        }
    }
}
