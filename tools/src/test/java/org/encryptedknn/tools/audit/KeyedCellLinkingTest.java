package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class KeyedCellLinkingTest {

    private static List<KeyedCellLinking.Observation> observe(AttackFixture f, float[][] queries, int count) {
        List<KeyedCellLinking.Observation> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(KeyedCellLinking.observe(f.transform, queries[i], 2));
        }
        return out;
    }

    @Test
    public void enoughKeyedQueriesJoinTheCellsAndCancelTheKeys() {
        try (AttackFixture f = new AttackFixture(400, 11)) {
            RekeyLinkage.Epoch s = f.store();
            float[][] queries = Vectors.normalizedAll(RekeyLinkageTest.synthetic(1500, AttackFixture.D, 12));
            KeyedCellLinking.Result r = KeyedCellLinking.attack(
                    observe(f, queries, 1500), AttackFixture.CELLS, s.z(), s.cell(), f.plainResidual(f.docs), 500, 1);
            assertTrue("solvable pairs " + r.pairsSolvable(), r.pairsSolvable() >= AttackFixture.CELLS - 1);
            assertEquals(AttackFixture.CELLS, r.largestFrame());
            assertEquals(1, r.frames());
            assertTrue("checked " + r.checkedPairs(), r.checkedPairs() == 500);
            assertTrue("max error " + r.maxError(), r.maxError() < 1e-4);
        }
    }

    @Test
    public void fewerQueriesThanResidualDimensionsSolveNothing() {
        try (AttackFixture f = new AttackFixture(400, 13)) {
            RekeyLinkage.Epoch s = f.store();
            float[][] queries = Vectors.normalizedAll(RekeyLinkageTest.synthetic(40, AttackFixture.D, 14));
            KeyedCellLinking.Result r = KeyedCellLinking.attack(
                    observe(f, queries, 40), AttackFixture.CELLS, s.z(), s.cell(), f.plainResidual(f.docs), 100, 1);
            assertEquals(0, r.pairsSolvable());
            assertEquals(AttackFixture.CELLS, r.frames());
        }
    }
}
