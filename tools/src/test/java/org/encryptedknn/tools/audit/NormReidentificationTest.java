package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.SplittableRandom;
import org.junit.Test;

public class NormReidentificationTest {

    @Test
    public void nearestScalarLinksOnlyTheMatchingEntry() {
        double[] reference = {0.5, 0.1, 0.9, 0.3};
        assertEquals(1.0, NormReidentification.r1ByNearest(new double[] {0.51, 0.09, 0.95, 0.29}, reference), 0);
        assertEquals(0.0, NormReidentification.r1ByNearest(new double[] {0.1, 0.9, 0.3, 0.5}, reference), 0);
    }

    @Test
    public void residualNormReidentifiesStoredRecords() {
        try (AttackFixture f = new AttackFixture(500, 3)) {
            RekeyLinkage.Epoch s = f.store();
            NormReidentification.Result r =
                    NormReidentification.measure(s.p(), s.z(), f.plainPrefix(f.docs), f.plainResidual(f.docs));
            assertTrue("‖z‖ R@1 " + r.r1Residual(), r.r1Residual() >= 0.95);
            assertEquals(
                    f.transform.sap().scale(),
                    r.scaleEstimate(),
                    0.2 * f.transform.sap().scale());
            // control: the same attack against a reference that is not the store's plaintext stays at chance
            float[][] shuffled = f.plainResidual(f.docs).clone();
            int[] perm = Sampling.permutation(shuffled.length, new SplittableRandom(5));
            float[][] other = new float[shuffled.length][];
            for (int i = 0; i < other.length; i++) {
                other[i] = shuffled[perm[i]];
            }
            double control = NormReidentification.measure(s.p(), s.z(), f.plainPrefix(f.docs), other)
                    .r1Residual();
            assertTrue("control R@1 " + control, control <= 0.02);
        }
    }

    /** Record residual v2: every stored ‖z‖ is the model's T, so the same attack falls to chance. */
    @Test
    public void paddedResidualsDoNotReidentify() {
        try (AttackFixture f = new AttackFixture(500, 3, true)) {
            RekeyLinkage.Epoch s = f.store();
            NormReidentification.Result r =
                    NormReidentification.measure(s.p(), s.z(), f.plainPrefix(f.docs), f.plainResidual(f.docs));
            assertTrue("padded ‖z‖ R@1 " + r.r1Residual(), r.r1Residual() <= 0.02);
        }
    }
}
