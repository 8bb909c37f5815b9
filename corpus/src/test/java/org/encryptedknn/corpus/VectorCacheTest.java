package org.encryptedknn.corpus;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class VectorCacheTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static float[][] randomVectors(int n, int d) {
        Random r = new Random(7);
        float[][] v = new float[n][d];
        for (float[] row : v) {
            for (int j = 0; j < d; j++) {
                row[j] = (float) r.nextGaussian();
            }
        }
        return v;
    }

    private static byte[] digest() {
        return VectorCache.contentDigest(List.of(new CorpusMessage("g/1", "s", "b", false)), 1);
    }

    @Test
    public void roundTrip() throws IOException {
        Path f = tmp.getRoot().toPath().resolve("v.f32vec");
        float[][] v = randomVectors(37, 384);
        VectorCache.write(f, "model-x", "corpus-y", digest(), v);
        VectorCache.Entry e = VectorCache.read(f);
        assertEquals(37, e.header().count());
        assertEquals(384, e.header().dimension());
        assertEquals("model-x", e.header().model());
        assertEquals("corpus-y", e.header().corpusVersion());
        assertArrayEquals(digest(), e.header().contentDigest());
        for (int i = 0; i < v.length; i++) {
            assertArrayEquals(v[i], e.vectors()[i], 0f);
        }
        assertEquals(e.header(), VectorCache.readHeader(f));
        // No temporary files left behind.
        try (var s = Files.list(tmp.getRoot().toPath())) {
            assertEquals(1, s.count());
        }
        // Little-endian float32 payload: first float sits right after the header.
        byte[] bytes = Files.readAllBytes(f);
        int headerLen = 8 + 12 + 2 + 7 + 2 + 8 + 32;
        int bits = (bytes[headerLen] & 0xFF)
                | (bytes[headerLen + 1] & 0xFF) << 8
                | (bytes[headerLen + 2] & 0xFF) << 16
                | (bytes[headerLen + 3] & 0xFF) << 24;
        assertEquals(v[0][0], Float.intBitsToFloat(bits), 0f);
    }

    @Test
    public void detectsFlippedByte() throws IOException {
        Path f = tmp.getRoot().toPath().resolve("v.f32vec");
        VectorCache.write(f, "m", "c", digest(), randomVectors(10, 16));
        byte[] bytes = Files.readAllBytes(f);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(f, bytes);
        VectorCache.CorruptCacheException ex =
                assertThrows(VectorCache.CorruptCacheException.class, () -> VectorCache.read(f));
        assertTrue(ex.getMessage(), ex.getMessage().contains("checksum"));
    }

    @Test
    public void detectsTruncationAndGarbage() throws IOException {
        Path f = tmp.getRoot().toPath().resolve("v.f32vec");
        VectorCache.write(f, "m", "c", digest(), randomVectors(10, 16));
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertThrows(VectorCache.CorruptCacheException.class, () -> VectorCache.read(f));
        assertThrows(VectorCache.CorruptCacheException.class, () -> VectorCache.readHeader(f));
        Files.write(f, java.util.Arrays.copyOf(bytes, 30));
        assertThrows(VectorCache.CorruptCacheException.class, () -> VectorCache.read(f));
        Files.writeString(f, "not a cache file at all, just some text that is long enough");
        assertThrows(VectorCache.CorruptCacheException.class, () -> VectorCache.read(f));
    }

    @Test
    public void overwriteIsAtomicReplace() throws IOException {
        Path f = tmp.getRoot().toPath().resolve("v.f32vec");
        VectorCache.write(f, "m", "c", digest(), randomVectors(5, 8));
        VectorCache.write(f, "m", "c", digest(), randomVectors(9, 8));
        assertEquals(9, VectorCache.read(f).header().count());
    }
}
