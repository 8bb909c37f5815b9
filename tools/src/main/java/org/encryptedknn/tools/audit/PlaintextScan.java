package org.encryptedknn.tools.audit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.encryptedknn.corpus.EmbeddedCorpus;

/**
 * Looks for raw plaintext vectors in what the storage tier holds: every 8-byte window of every file under a
 * directory is compared with every pair of consecutive float32 components (little- and big-endian) of the
 * given vectors. A vector counts as found when any of its pairs appears. Used to check that an index
 * directory (segments, translog) holds no usable embedding.
 *
 * <p>{@code java … PlaintextScan [--limit N] DIR...} scans each directory for the first N corpus vectors
 * ({@link EmbeddedCorpus}, all if N is absent) and prints one line per directory:
 * {@code <dir> files=<f> bytes=<b> found=<vectors found> of=<N>} (used by the framework suites, clients/python).
 */
public final class PlaintextScan {

    /** What a scan found: files and bytes read, vectors whose components appear, matching windows. */
    public record Result(int files, long bytes, int vectorsFound, long matches) {}

    private final Set<Long> pairs = new HashSet<>();
    private final Long[][] pairsByVector;

    public PlaintextScan(List<float[]> vectors) {
        pairsByVector = new Long[vectors.size()][];
        for (int v = 0; v < vectors.size(); v++) {
            float[] x = vectors.get(v);
            Set<Long> own = new HashSet<>();
            for (int i = 0; i + 1 < x.length; i++) {
                if (x[i] == 0f && x[i + 1] == 0f) {
                    continue; // zero pairs say nothing: they occur in any file
                }
                own.add(pair(x[i], x[i + 1], ByteOrder.LITTLE_ENDIAN));
                own.add(pair(x[i], x[i + 1], ByteOrder.BIG_ENDIAN));
            }
            pairs.addAll(own);
            pairsByVector[v] = own.toArray(new Long[0]);
        }
    }

    public static void main(String[] args) throws IOException {
        int limit = 0;
        int first = 0;
        if (args.length >= 2 && args[0].equals("--limit")) {
            limit = Integer.parseInt(args[1]);
            first = 2;
        }
        if (first >= args.length) {
            System.err.println("usage: PlaintextScan [--limit N] DIR...");
            System.exit(2);
        }
        List<float[]> vectors = Arrays.asList(EmbeddedCorpus.load(limit).vectors());
        PlaintextScan scan = new PlaintextScan(vectors);
        for (String dir : Arrays.copyOfRange(args, first, args.length)) {
            Result r = scan.scan(Path.of(dir));
            System.out.println(dir + " files=" + r.files() + " bytes=" + r.bytes() + " found=" + r.vectorsFound()
                    + " of=" + vectors.size());
        }
    }

    private static long pair(float a, float b, ByteOrder order) {
        return ByteBuffer.allocate(8)
                .order(order)
                .putFloat(a)
                .putFloat(b)
                .order(ByteOrder.BIG_ENDIAN)
                .getLong(0);
    }

    /** Scans every regular file under {@code root}. */
    public Result scan(Path root) throws IOException {
        Set<Long> seen = new HashSet<>();
        int files = 0;
        long bytes = 0;
        long matches = 0;
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path file : (Iterable<Path>) paths.filter(Files::isRegularFile)::iterator) {
                files++;
                long window = 0;
                long read = 0;
                try (InputStream in = Files.newInputStream(file)) {
                    byte[] buffer = new byte[1 << 16];
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        for (int i = 0; i < n; i++) {
                            window = (window << 8) | (buffer[i] & 0xFF);
                            if (++read >= 8 && pairs.contains(window)) {
                                matches++;
                                seen.add(window);
                            }
                        }
                    }
                } catch (IOException e) {
                    continue; // a file removed by a merge while we read: nothing to find in it
                }
                bytes += read;
            }
        }
        int found = 0;
        for (Long[] own : pairsByVector) {
            for (Long p : own) {
                if (seen.contains(p)) {
                    found++;
                    break;
                }
            }
        }
        return new Result(files, bytes, found, matches);
    }
}
