package org.encryptedknn.he;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import org.junit.Test;

/** The wire packing on its own (no native library): exact round trips, size bound, hostile forms refused. */
public class CiphertextWireTest {

    private static final long MAX = 1 << 20;

    @Test
    public void roundTripsAnyBytesExactly() {
        Random rnd = new Random(3);
        for (int i = 0; i < 2000; i++) {
            byte[] raw = new byte[rnd.nextInt(3000)];
            int mode = i % 3;
            for (int j = 0; j < raw.length; j++) {
                // random, sparse, or words of few significant bits at a random alignment
                raw[j] = (byte)
                        (mode == 0
                                ? rnd.nextInt(256)
                                : mode == 1
                                        ? (rnd.nextInt(10) == 0 ? rnd.nextInt(256) : 0)
                                        : ((j + i) % 8 < 5 ? rnd.nextInt(256) : 0));
            }
            byte[] wire = CiphertextWire.pack(raw);
            assertTrue(wire.length <= CiphertextWire.maxWireBytes(raw.length));
            assertArrayEquals("case " + i, raw, CiphertextWire.unpack(wire, MAX, "x"));
        }
    }

    @Test
    public void narrowWordsShrinkAtTheirAlignment() {
        Random rnd = new Random(5);
        byte[] raw = new byte[3 + 8 * 4096 + 70]; // 3 bytes of metadata, 4096 words < 2^42, a 70-byte seed
        rnd.nextBytes(raw);
        for (int w = 0; w < 4096; w++) {
            raw[3 + 8 * w + 5] &= 0x03;
            raw[3 + 8 * w + 6] = 0;
            raw[3 + 8 * w + 7] = 0;
        }
        byte[] wire = CiphertextWire.pack(raw);
        assertTrue("packed " + wire.length, wire.length < 4096 * 42 / 8 + 200);
        assertArrayEquals(raw, CiphertextWire.unpack(wire, MAX, "x"));
    }

    @Test
    public void hostileFormsAreRefused() {
        byte[] raw = new byte[1000];
        new Random(9).nextBytes(raw);
        byte[] wire = CiphertextWire.pack(raw);
        assertEquals(HeException.Kind.MALFORMED, refuse(new byte[] {'E', 'K'}).kind());
        assertTrue(refuse(java.util.Arrays.copyOf(wire, wire.length - 1))
                .getMessage()
                .contains("truncated"));
        assertTrue(refuse(java.util.Arrays.copyOf(wire, wire.length + 1))
                .getMessage()
                .contains("trailing"));
        assertTrue(refuse(new byte[] {'X', 'K', 'W', '1', 0, 0, 0, 0, 0})
                .getMessage()
                .contains("EKW1"));
        byte[] longer = wire.clone();
        longer[7] = 0x7f; // declares ≈ 2 GB
        assertTrue(refuse(longer).getMessage().contains("declares"));
        byte[] head = wire.clone();
        head[8] = 9;
        assertTrue(refuse(head).getMessage().contains("word offset"));
        byte[] width = wire.clone();
        width[9 + (wire[8])] = 65; // first group's width byte
        assertTrue(refuse(width).getMessage().contains("exceeds 64 bits"));
        assertTrue(refuse(new byte[(int) CiphertextWire.maxWireBytes(MAX) + 1])
                .getMessage()
                .contains("exceeds the maximum"));
    }

    private static HeException refuse(byte[] wire) {
        return assertThrows(HeException.class, () -> CiphertextWire.unpack(wire, MAX, "test ciphertext"));
    }
}
