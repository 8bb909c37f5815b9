package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class PlaintextScanTest {

    @Rule
    public TemporaryFolder dir = new TemporaryFolder();

    private static float[] vector(Random rnd) {
        float[] v = new float[16];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    @Test
    public void findsAPlantedVectorAtAnyOffsetAndNothingElse() throws Exception {
        Random rnd = new Random(7);
        float[] planted = vector(rnd);
        float[] absent = vector(rnd);
        byte[] noise = new byte[10_000];
        rnd.nextBytes(noise);
        Path segment = dir.newFolder("index").toPath().resolve("_0.vec");
        ByteBuffer buf = ByteBuffer.allocate(noise.length + 3 + 16 * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(noise).put(new byte[3]); // an odd offset, as inside a Lucene file
        for (float f : planted) {
            buf.putFloat(f);
        }
        Files.write(segment, buf.array());
        Files.write(segment.resolveSibling("translog.tlog"), noise);

        PlaintextScan.Result result = new PlaintextScan(List.of(planted, absent)).scan(segment.getParent());
        assertEquals(2, result.files());
        assertEquals(1, result.vectorsFound());

        PlaintextScan.Result clean = new PlaintextScan(List.of(absent)).scan(segment.getParent());
        assertEquals(0, clean.vectorsFound());
        assertEquals(0, clean.matches());
    }
}
