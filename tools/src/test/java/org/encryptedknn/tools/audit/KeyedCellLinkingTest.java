package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class KeyedCellLinkingTest {

    /** The attack after {@code count} keyed queries (P = 2 of C = 4), checked on 500 cross-cell pairs. */
    private static KeyedCellLinking.Result attackAfter(int count, long seed) {
        return attackAfter(count, seed, false);
    }

    private static KeyedCellLinking.Result attackAfter(int count, long seed, boolean padded) {
        try (AttackFixture f = new AttackFixture(400, seed, padded)) {
            RekeyLinkage.Epoch s = f.store();
            float[][] queries = Vectors.normalizedAll(RekeyLinkageTest.synthetic(count, AttackFixture.D, seed + 1));
            List<KeyedCellLinking.Observation> seen = new ArrayList<>();
            for (float[] q : queries) {
                seen.add(KeyedCellLinking.observe(f.transform, q, 2));
            }
            return KeyedCellLinking.attack(seen, AttackFixture.CELLS, s.z(), s.cell(), f.plainResidual(f.docs), 500, 1);
        }
    }

    @Test
    public void enoughKeyedQueriesJoinTheCellsAndCancelTheKeys() {
        KeyedCellLinking.Result r = attackAfter(1500, 11);
        assertTrue("solvable pairs " + r.pairsSolvable(), r.pairsSolvable() >= AttackFixture.CELLS - 1);
        assertEquals(AttackFixture.CELLS, r.largestFrame());
        assertEquals(1, r.frames());
        assertEquals(500, r.checkedPairs());
        assertTrue("max error " + r.maxError(), r.maxError() < 1e-4);
    }

    @Test
    public void keyedQueriesRevealThePaddingOfPaddedRecords() {
        KeyedCellLinking.Result r = attackAfter(1500, 17, true);
        assertEquals(AttackFixture.CELLS, r.paddedCells()); // every cell's padding direction found
        assertEquals(400, r.paddedRecords());
        assertTrue("padding error " + r.paddingMaxError(), r.paddingMaxError() < 1e-4);
        assertEquals(AttackFixture.CELLS, r.largestFrame());
        assertTrue("max error " + r.maxError(), r.maxError() < 1e-4);
    }

    @Test
    public void fewerQueriesThanResidualDimensionsSolveNothing() {
        KeyedCellLinking.Result r = attackAfter(40, 13); // 40 < d − d_pub = 48 equations per pair
        assertEquals(0, r.pairsSolvable());
        assertEquals(AttackFixture.CELLS, r.frames());
    }
}
