package org.encryptedknn.he;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;

/**
 * Native memory does not grow over many encrypt / load / multiply / decrypt / free cycles.
 * The cycle count is {@code -Dckks.memory.cycles} (default 2000, ≈ 15–30 s on 2 cores; run with
 * 100000 for the full figure, see docs/ckks-parameters.md).
 */
public class CkksNativeMemoryTest {

    private static final int DIM = 288;

    @Test
    public void noGrowthOverManyCycles() throws Exception {
        int cycles = Integer.getInteger("ckks.memory.cycles", 2000);
        // The cycles run in a child JVM with a fixed, pre-touched heap so that process RSS
        // measures native memory, not the growth of the Java heap of the test runner.
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(
                java.toString(),
                "-Xms96m",
                "-Xmx96m",
                "-XX:+AlwaysPreTouch",
                "-XX:+UseSerialGC",
                "-Djna.nosys=true",
                "-Dckks.memory.cycles=" + cycles));
        String libPath = System.getProperty("jna.library.path");
        if (libPath != null) {
            cmd.add("-Djna.library.path=" + libPath);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CkksNativeMemoryTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        int rc = p.waitFor();
        System.out.print(out);
        assertEquals("child JVM failed (exit " + rc + "):\n" + out, 0, rc);
        assertTrue(out, out.contains("MEMORY-OK"));
    }

    /** Child JVM entry point: warm up, measure, run the cycles, measure again. */
    public static void main(String[] args) throws Exception {
        int cycles = Integer.getInteger("ckks.memory.cycles", 2000);
        int warmup = Math.max(500, cycles / 10);
        Random rnd = new Random(11);
        float[] q = HeTestVectors.residual(rnd, DIM);
        List<float[]> cands = HeTestVectors.residuals(rnd, 7, DIM);
        long handles0 = NativeMemory.liveHandles();

        runCycles(warmup, q, cands);
        System.gc();
        long rssBefore = rssKb();
        NativeMemory.Stats before = NativeMemory.stats();
        long t0 = System.nanoTime();
        runCycles(cycles, q, cands);
        double secs = (System.nanoTime() - t0) / 1e9;
        System.gc();
        long rssAfter = rssKb();
        NativeMemory.Stats after = NativeMemory.stats();

        System.out.printf(
                "memory: %d cycles (encrypt, load, multiply, serialize, decrypt, free) in %.1f s; "
                        + "RSS %d -> %d KiB (%+d KiB); SEAL pool %d -> %d B; live handles %d; live buffers %d; handles created %d%n",
                cycles,
                secs,
                rssBefore,
                rssAfter,
                rssAfter - rssBefore,
                before.sealPoolBytes(),
                after.sealPoolBytes(),
                after.liveHandles(),
                after.liveBuffers(),
                after.handlesCreated());
        check(handles0 == after.liveHandles(), "live native handles not back to baseline");
        check(after.liveBuffers() == 0, "returned buffers left");
        check(NativeMemory.leakedHandles() == 0, "handles freed by the Cleaner");
        check(after.sealPoolBytes() <= before.sealPoolBytes() + (4 << 20), "SEAL pool grew");
        check(rssAfter - rssBefore < 16 * 1024, "RSS grew by " + (rssAfter - rssBefore) + " KiB");
        System.out.println("MEMORY-OK");
    }

    private static void check(boolean ok, String msg) {
        if (!ok) {
            System.out.println("FAILED: " + msg);
            System.exit(1);
        }
    }

    private static void runCycles(int n, float[] q, List<float[]> cands) {
        for (int i = 0; i < n; i++) {
            // a fresh context every 500 cycles exercises context/key creation and free as well
            try (CkksContext ctx = CkksContext.createDefault();
                    CkksSecretKey sk = CkksSecretKey.generate(ctx);
                    CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
                CkksScorer scorer = new CkksScorer(ctx);
                int inner = Math.min(500, n - i);
                for (int j = 0; j < inner; j++) {
                    byte[] query = kh.encryptQuery(q);
                    byte[] res;
                    try (CkksQuery loaded = scorer.loadQuery(query)) {
                        res = scorer.score(loaded, cands).get(0);
                    }
                    double[] s = kh.decryptBatch(res, cands.size());
                    if (Math.abs(s[0] - HeTestVectors.dot(q, cands.get(0))) > 1e-4) {
                        throw new AssertionError("wrong score " + s[0]);
                    }
                }
                i += inner - 1;
            }
        }
    }

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
