package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.tools.audit.PlaintextScan;
import org.encryptedknn.tools.demo.Demo;

/**
 * Byte scans of one index's directory in a node's data path (segments and translog, after a flush): raw float32
 * vectors ({@link PlaintextScan}: any two consecutive components, either byte order) and plaintext text values (the
 * UTF-8 bytes of each value of at least {@value #MIN_TEXT_BYTES} bytes). {@link #control} shows on an index that holds
 * both in clear that the scans find them.
 */
final class StorageScan {

    static final int MIN_TEXT_BYTES = 16;

    /** What one scan found. */
    record Result(String index, int files, long bytes, int vectorsFound, int textsFound) {
        String line(String when) {
            return String.format(
                    Locale.ROOT,
                    "  scan %-34s %-16s %5d files %9d bytes: %d plaintext vectors, %d plaintext texts",
                    when,
                    index,
                    files,
                    bytes,
                    vectorsFound,
                    textsFound);
        }
    }

    private final OpenSearchHttp node;
    private final Path dataDir;
    private final PlaintextScan vectors;
    private final Map<Long, List<byte[]>> textsByHead = new HashMap<>();

    StorageScan(OpenSearchHttp node, Path dataDir, List<float[]> vectors, List<String> texts) {
        this.node = node;
        this.dataDir = dataDir;
        this.vectors = new PlaintextScan(vectors);
        for (String t : new HashSet<>(texts)) {
            byte[] b = t.getBytes(StandardCharsets.UTF_8);
            if (b.length >= MIN_TEXT_BYTES) {
                textsByHead.computeIfAbsent(head(b, 0), h -> new ArrayList<>()).add(b);
            }
        }
    }

    /**
     * Flushes {@code index} (segments hold everything; the translog is scanned too) and scans its directory. The files
     * are hard-linked into a snapshot first, since a merge deletes files all the time while the re-key writes.
     */
    Result scan(String index) throws IOException {
        node.post("/" + index + "/_flush", null);
        Path dir = Demo.indexDirectory(node, dataDir, index);
        Path snapshot = Files.createTempDirectory(dataDir.getParent(), "scan-");
        try {
            link(dir.toFile(), snapshot);
            PlaintextScan.Result v = vectors.scan(snapshot);
            return new Result(index, v.files(), v.bytes(), v.vectorsFound(), textsIn(snapshot));
        } finally {
            try (Stream<Path> paths = Files.walk(snapshot)) {
                for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                    Files.delete(p);
                }
            }
        }
    }

    /** Hard links of the files under {@code dir} (those still there when reached) into {@code into}. */
    private static void link(File dir, Path into) throws IOException {
        File[] entries = dir.listFiles();
        for (File f : entries == null ? new File[0] : entries) {
            Path target = into.resolve(f.getName());
            if (f.isDirectory()) {
                link(f, Files.createDirectory(target));
            } else {
                try {
                    Files.createLink(target, f.toPath());
                } catch (NoSuchFileException gone) {
                    // deleted by a merge since the listing: not stored any more
                }
            }
        }
    }

    /**
     * The positive control: an index whose documents hold the first {@code n} vectors as raw little-endian float32
     * (binary doc values) and the texts in clear; {@link #scan} must find them.
     */
    Result control(String index, List<float[]> plainVectors, List<String> texts) throws IOException {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        ObjectNode props = body.putObject("mappings").putObject("properties");
        props.putObject("raw").put("type", "binary").put("doc_values", true);
        props.putObject("text").put("type", "keyword").put("index", false);
        if (node.exists("/" + index)) {
            node.delete("/" + index);
        }
        node.put("/" + index, body);
        StringBuilder bulk = new StringBuilder();
        for (int i = 0; i < plainVectors.size(); i++) {
            ByteBuffer raw = ByteBuffer.allocate(4 * plainVectors.get(i).length).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : plainVectors.get(i)) {
                raw.putFloat(f);
            }
            ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
            doc.put("raw", Base64.getEncoder().encodeToString(raw.array()));
            doc.put("text", texts.get(i));
            bulk.append("{\"index\":{\"_index\":\"")
                    .append(index)
                    .append("\"}}\n")
                    .append(doc)
                    .append('\n');
        }
        node.postNdjson("/_bulk?refresh=true", bulk.toString());
        return scan(index);
    }

    /** Distinct texts whose full UTF-8 bytes occur in some file under {@code dir}. */
    private int textsIn(Path dir) throws IOException {
        Set<byte[]> found = new HashSet<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                byte[] b = Files.readAllBytes(f);
                for (int i = 0; i + MIN_TEXT_BYTES <= b.length; i++) {
                    List<byte[]> candidates = textsByHead.get(head(b, i));
                    if (candidates == null) {
                        continue;
                    }
                    for (byte[] t : candidates) {
                        if (i + t.length <= b.length && Arrays.equals(b, i, i + t.length, t, 0, t.length)) {
                            found.add(t);
                        }
                    }
                }
            }
        }
        return found.size();
    }

    private static long head(byte[] b, int at) {
        return ByteBuffer.wrap(b, at, 8).order(ByteOrder.BIG_ENDIAN).getLong();
    }
}
