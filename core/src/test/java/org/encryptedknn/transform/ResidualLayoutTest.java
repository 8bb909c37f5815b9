package org.encryptedknn.transform;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.Test;

/** The binary doc-value layouts: versioned round trip, reading the first unversioned layout, refusing others. */
public class ResidualLayoutTest {

    static float[] randomFloats(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    /** The layout written before the version byte: {@code [cell][epoch][z]}, little-endian. */
    static byte[] unversioned(int cell, int epoch, float[] z) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 * z.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(cell).putInt(epoch);
        for (float f : z) {
            b.putFloat(f);
        }
        return b.array();
    }

    static void assertResidual(ResidualLayout.Residual r, int cell, int epoch, float[] z, float[] q) {
        assertEquals(cell, r.cell());
        assertEquals(epoch, r.epoch());
        assertEquals(z.length, r.length());
        assertArrayEquals(z, r.z(), 0f);
        double expected = 0;
        for (int i = 0; i < z.length; i++) {
            expected += (double) q[i] * z[i];
        }
        assertEquals(expected, r.dot(q), 1e-12);
    }

    @Test
    public void versionedResidualRoundTripsInsideALargerBuffer() {
        Random random = new Random(7);
        for (int n : new int[] {0, 1, 3, 288}) {
            float[] z = randomFloats(random, n);
            float[] q = randomFloats(random, n);
            byte[] record = ResidualLayout.encodeResidual(17, 3, z);
            assertEquals(ResidualLayout.VERSION, record[0]);
            assertEquals(9 + 4 * n, record.length);
            // a slice of a larger array, as Lucene hands out BytesRefs
            byte[] padded = new byte[record.length + 10];
            System.arraycopy(record, 0, padded, 5, record.length);
            assertResidual(ResidualLayout.residual(padded, 5, record.length), 17, 3, z, q);
        }
    }

    @Test
    public void readsTheUnversionedLayout() {
        Random random = new Random(11);
        float[] z = randomFloats(random, 6);
        byte[] old = unversioned(5, 2, z);
        assertResidual(ResidualLayout.residual(old, 0, old.length), 5, 2, z, randomFloats(random, 6));
    }

    @Test
    public void refusesOtherVersionsAndLengths() {
        byte[] record = ResidualLayout.encodeResidual(1, 1, new float[4]);
        record[0] = 3; // neither keyed (1) nor sealed (2)
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> ResidualLayout.residual(record, 0, record.length));
        assertTrue(e.getMessage(), e.getMessage().contains("re-index"));
        byte[] odd = new byte[10]; // ≡ 2 (mod 4): neither layout
        assertThrows(IllegalStateException.class, () -> ResidualLayout.residual(odd, 0, odd.length));
        assertThrows(IllegalStateException.class, () -> ResidualLayout.residual(new byte[4], 0, 4));
        assertThrows(IllegalStateException.class, () -> ResidualLayout.residual(new byte[0], 0, 0));
    }

    @Test
    public void nonceVersionedAndBare() {
        byte[] nonce = new byte[16];
        Arrays.fill(nonce, (byte) 9);
        byte[] stored = ResidualLayout.encodeNonce(nonce);
        assertEquals(17, stored.length);
        assertEquals(ResidualLayout.VERSION, stored[0]);
        assertArrayEquals(nonce, ResidualLayout.nonce(stored, 0, stored.length));
        assertArrayEquals(nonce, ResidualLayout.nonce(nonce, 0, nonce.length)); // the first, bare layout
        stored[0] = 2;
        assertThrows(IllegalStateException.class, () -> ResidualLayout.nonce(stored, 0, stored.length));
        assertThrows(IllegalStateException.class, () -> ResidualLayout.nonce(new byte[12], 0, 12));
    }

    @Test
    public void hitRecordCarriesTheRecordWithOrWithoutZ() {
        Random random = new Random(3);
        float[] z = randomFloats(random, 289);
        float[] p = randomFloats(random, 96);
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        // the residual doc value read in place, inside a larger buffer
        byte[] stored = ResidualLayout.encodeResidual(11, 4, z);
        byte[] padded = new byte[stored.length + 7];
        System.arraycopy(stored, 0, padded, 3, stored.length);
        ResidualLayout.Residual residual = ResidualLayout.residual(padded, 3, stored.length);

        byte[] withZ = ResidualLayout.encodeHitRecord(residual, nonce, p, true);
        assertEquals(ResidualLayout.HIT_RECORD_VERSION, withZ[0]);
        assertEquals(1 + 4 + 4 + 16 + 4 + 4 * (96 + 289), withZ.length);
        ResidualLayout.HitRecord full = ResidualLayout.hitRecord(withZ, 289);
        assertTrue(full.hasResidual());
        assertEquals(new EncryptedVector(p, nonce, 11, z, 4), full.vector());

        byte[] withoutZ = ResidualLayout.encodeHitRecord(residual, nonce, p, false);
        assertEquals(1 + 4 + 4 + 16 + 4 + 4 * 96, withoutZ.length);
        ResidualLayout.HitRecord bare = ResidualLayout.hitRecord(withoutZ, 289);
        assertEquals(false, bare.hasResidual());
        assertEquals(new EncryptedVector(p, nonce, 11, new float[289], 4), bare.vector()); // zeros stand in for z

        // the first, unversioned residual layout gives the same record
        byte[] old = unversioned(11, 4, z);
        assertArrayEquals(
                withZ, ResidualLayout.encodeHitRecord(ResidualLayout.residual(old, 0, old.length), nonce, p, true));
    }

    @Test
    public void hitRecordRefusesOtherVersionsAndLengths() {
        ResidualLayout.Residual residual = ResidualLayout.residual(
                ResidualLayout.encodeResidual(1, 1, new float[4]),
                0,
                ResidualLayout.encodeResidual(1, 1, new float[4]).length);
        byte[] good = ResidualLayout.encodeHitRecord(residual, new byte[16], new float[2], true);
        byte[] otherVersion = good.clone();
        otherVersion[0] = 3;
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ResidualLayout.hitRecord(otherVersion, 4));
        assertTrue(e.getMessage(), e.getMessage().contains("version"));
        assertThrows(
                IllegalArgumentException.class,
                () -> ResidualLayout.hitRecord(Arrays.copyOf(good, good.length - 1), 4));
        assertThrows(IllegalArgumentException.class, () -> ResidualLayout.hitRecord(Arrays.copyOf(good, 20), 4));
        assertThrows(IllegalArgumentException.class, () -> ResidualLayout.hitRecord(new byte[0], 4));
        byte[] hugePrefix = good.clone();
        ByteBuffer.wrap(hugePrefix).order(ByteOrder.LITTLE_ENDIAN).putInt(25, Integer.MAX_VALUE);
        assertThrows(IllegalArgumentException.class, () -> ResidualLayout.hitRecord(hugePrefix, 4));
        byte[] negativePrefix = good.clone();
        ByteBuffer.wrap(negativePrefix).order(ByteOrder.LITTLE_ENDIAN).putInt(25, -3);
        assertThrows(IllegalArgumentException.class, () -> ResidualLayout.hitRecord(negativePrefix, 4));
        assertThrows(
                IllegalArgumentException.class,
                () -> ResidualLayout.encodeHitRecord(residual, new byte[15], new float[2], true));
    }
}
