package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertTrue;

import java.util.SplittableRandom;
import org.junit.Test;

public class GramFingerprintTest {

    @Test
    public void withinCellGramIdentifiesRecordsWithAndWithoutThePartition() {
        try (AttackFixture f = new AttackFixture(400, 5)) {
            RekeyLinkage.Epoch s = f.store();
            float[][] r = f.plainResidual(f.docs);
            double known = GramFingerprint.knownPartitionR1(s.z(), s.cell(), r);
            double unknown = GramFingerprint.unknownPartitionR1(s.z(), s.cell(), r, 1e-5);
            assertTrue("known-partition R@1 " + known, known >= 0.95);
            assertTrue("unknown-partition R@1 " + unknown, unknown >= 0.95);
        }
    }

    @Test
    public void paddedRecordsAreIdentifiedAgainstTheReferenceWithThePadding() {
        try (AttackFixture f = new AttackFixture(400, 7, true)) {
            RekeyLinkage.Epoch s = f.store();
            float[][] padded = f.storedReference(f.docs); // [r; t]: ⟨z_i, z_j⟩ = ⟨r_i, r_j⟩ + t_i t_j
            double known = GramFingerprint.knownPartitionR1(s.z(), s.cell(), padded);
            double unknown = GramFingerprint.unknownPartitionR1(s.z(), s.cell(), padded, 1e-5);
            assertTrue("known-partition R@1 " + known, known >= 0.95);
            assertTrue("unknown-partition R@1 " + unknown, unknown >= 0.95);
            // the reference without the padding misses every pair value by t_i t_j: the attack looks closed, wrongly
            double rOnly = GramFingerprint.unknownPartitionR1(s.z(), s.cell(), f.plainResidual(f.docs), 1e-5);
            assertTrue("r-only unknown-partition R@1 " + rOnly, rOnly <= 0.05);
        }
    }

    @Test
    public void aKeyPerRecordDefeatsTheFingerprint() {
        try (AttackFixture f = new AttackFixture(400, 6)) {
            RekeyLinkage.Epoch s = f.store();
            float[][] r = f.plainResidual(f.docs);
            int dr = r[0].length;
            SplittableRandom random = new SplittableRandom(9);
            float[][] scrambled = new float[s.z().length][];
            for (int i = 0; i < scrambled.length; i++) {
                scrambled[i] = Procrustes.apply(Procrustes.randomOrthogonal(dr, random), dr, s.z()[i]);
            }
            double unknown = GramFingerprint.unknownPartitionR1(scrambled, s.cell(), r, 1e-5);
            assertTrue("unknown-partition R@1 " + unknown, unknown <= 0.05);
        }
    }
}
