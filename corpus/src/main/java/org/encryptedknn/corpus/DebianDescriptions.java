package org.encryptedknn.corpus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Short English texts from the Debian archive: the package descriptions of Debian 12 "bookworm" (main), file
 * {@value #ARCHIVE_PATH}, about 64,000 descriptions. A real corpus large enough for the scale benchmark (the SpamAssassin
 * corpus holds 6,046 mails).
 *
 * <p>The file is downloaded once into the cache directory ({@link CacheDirs}, as {@value #CACHE_NAME}) and used only if
 * its SHA-256 is {@value #SHA256}, the value bookworm's signed {@code InRelease} lists for it (bookworm is a frozen
 * release: the file does not change). It is decompressed with the system {@code xz} (Debian package xz-utils), never
 * unpacked to disk.
 *
 * <p>Texts: every {@code Description-en:} record gives its short description (the first line) and the sentences of its
 * long description (the indented lines; a {@code " ."} line is a paragraph break, a bullet line ({@code *}, {@code -}, {@code +}, {@code o})
 * starts a new piece; pieces are split after {@code . ! ?} followed by a capital, digit or quote). Whitespace is collapsed; a text is
 * kept if it has {@value #MIN_CHARS}–{@value #MAX_CHARS} characters, at least {@value #MIN_LETTER_PERCENT}% of them
 * letters (spaces aside), and is not an exact duplicate of an earlier text (ignoring case); a description gives at most
 * {@value #MAX_TEXTS_PER_DESCRIPTION} texts. The texts are then shuffled
 * with {@link #SHUFFLE_SEED}, so every prefix is a sample of the whole archive.
 */
public final class DebianDescriptions implements TextCorpus<DebianDescriptions.Text> {
    public static final String URL = "http://deb.debian.org/debian/dists/bookworm/main/i18n/Translation-en.xz";
    public static final String ARCHIVE_PATH = "bookworm/main/i18n/Translation-en.xz";
    /** From {@code http://deb.debian.org/debian/dists/bookworm/InRelease} (SHA256 section, 6,107,304 bytes). */
    public static final String SHA256 = "a3d4a0bfd8e9242810b0885eda7c1a6e05dac15b333ddbaab03ba56f2dfa4bf0";

    public static final String CACHE_NAME = "debian/bookworm-main-Translation-en.xz";
    public static final long SHUFFLE_SEED = 20_230_610L; // bookworm's release date
    public static final int MIN_CHARS = 20;
    public static final int MAX_CHARS = 300;
    public static final int MIN_LETTER_PERCENT = 70;
    /** A few descriptions list hundreds of items (fonts, LaTeX packages); only their first texts are kept. */
    public static final int MAX_TEXTS_PER_DESCRIPTION = 20;

    /** The one instance: bookworm's descriptions. */
    public static final DebianDescriptions BOOKWORM = new DebianDescriptions();

    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?])\\s+(?=[\\p{Lu}\\p{N}\"'(])");
    private static final Pattern BULLET = Pattern.compile("^[*+o•-]\\s+");
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final long XZ_TIMEOUT_MINUTES = 5;

    private volatile List<Text> shuffled;

    /**
     * One text.
     *
     * @param id   {@code <package>/<first 8 hex digits of Description-md5>/<n>}: n = 0 is the short description when
     *             kept, then the kept sentences in order
     * @param text whitespace-collapsed
     */
    public record Text(String id, String text) implements CorpusText {
        @Override
        public String embeddingText() {
            return text;
        }
    }

    private DebianDescriptions() {}

    @Override
    public List<Text> texts() throws IOException {
        List<Text> cached = shuffled;
        if (cached == null) {
            synchronized (this) {
                cached = shuffled;
                if (cached == null) {
                    List<Text> all = new ArrayList<>(read(archive()));
                    Collections.shuffle(all, new Random(SHUFFLE_SEED));
                    cached = Collections.unmodifiableList(all);
                    shuffled = cached;
                }
            }
        }
        return cached;
    }

    @Override
    public String cacheFile(Encoder encoder) {
        return "debian-bookworm-descriptions-" + encoder.wireName() + ".f32vec";
    }

    @Override
    public String version(Encoder encoder) {
        return "debian:" + ARCHIVE_PATH + "@sha256:" + SHA256 + ";text=short+sentences-" + MIN_CHARS + "-" + MAX_CHARS
                + "-letters" + MIN_LETTER_PERCENT + "-dedup-max" + MAX_TEXTS_PER_DESCRIPTION + ";order=shuffle-"
                + SHUFFLE_SEED + ";" + encoder.recipe();
    }

    /** The verified archive: from a cache directory, or downloaded into the writable one. */
    public static Path archive() throws IOException {
        for (Path p : CacheDirs.existing(CACHE_NAME)) {
            return verified(p);
        }
        return download(CacheDirs.writable().resolve(CACHE_NAME));
    }

    /** {@code file} if its SHA-256 is {@link #SHA256}; otherwise an IOException saying so (the file is not used). */
    public static Path verified(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        String actual = HexFormat.of().formatHex(md.digest());
        if (!actual.equals(SHA256)) {
            throw new IOException(file + " has SHA-256 " + actual + ", not " + SHA256 + " (Debian bookworm's "
                    + ARCHIVE_PATH + " as listed in its InRelease): refusing it; delete the file to download it again");
        }
        return file;
    }

    private static Path download(Path target) throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), ".download", ".tmp");
        try {
            System.err.println("encrypted-knn corpus: downloading " + URL + " -> " + target);
            HttpClient http = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(30))
                    .followRedirects(HttpClient.Redirect.NORMAL)
                    .build();
            HttpResponse<Path> response = http.send(
                    HttpRequest.newBuilder(URI.create(URL))
                            .timeout(Duration.ofMinutes(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofFile(tmp));
            if (response.statusCode() != 200) {
                throw new IOException("GET " + URL + ": HTTP " + response.statusCode());
            }
            verified(tmp);
            CacheDirs.shareReadable(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while downloading " + URL, e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The texts of an xz-compressed Translation file, in file order (decompressed by the system {@code xz}). */
    static List<Text> read(Path xz) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder("xz", "--decompress", "--stdout", "--", xz.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new IOException("cannot run xz (Debian package xz-utils) to read " + xz, e);
        }
        List<Text> texts;
        try (BufferedReader in =
                new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8), 1 << 16)) {
            texts = parse(in);
        }
        try {
            if (!p.waitFor(XZ_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("xz did not finish reading " + xz);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading " + xz, e);
        }
        if (p.exitValue() != 0) {
            throw new IOException("xz failed (exit " + p.exitValue() + ") on " + xz);
        }
        if (texts.isEmpty()) {
            throw new IOException(xz + ": no Description-en records");
        }
        return texts;
    }

    /** The texts of a Translation file (deb822 records with {@code Package}, {@code Description-md5}, ...), in order. */
    static List<Text> parse(BufferedReader in) throws IOException {
        List<Text> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        String pkg = "";
        String md5 = "";
        List<String> pieces = null; // of the current description: short description, then long-description pieces
        String line;
        while ((line = in.readLine()) != null) {
            if (pieces != null && line.startsWith(" ")) {
                addLongLine(pieces, line);
                continue;
            }
            if (pieces != null) { // the description ended: a blank line or the next field
                addTexts(out, seen, pkg + "/" + md5, pieces);
                pieces = null;
            }
            if (line.isBlank()) {
                pkg = "";
                md5 = "";
            } else if (line.startsWith("Package:")) {
                pkg = line.substring("Package:".length()).strip();
            } else if (line.startsWith("Description-md5:")) {
                String digest = line.substring("Description-md5:".length()).strip();
                md5 = digest.substring(0, Math.min(8, digest.length()));
            } else if (line.startsWith("Description-en:")) {
                pieces = new ArrayList<>();
                pieces.add(line.substring("Description-en:".length()));
                pieces.add(""); // the long description's first piece
            }
        }
        if (pieces != null) {
            addTexts(out, seen, pkg + "/" + md5, pieces);
        }
        return out;
    }

    /** One line of a long description: a paragraph break, a bullet (starts a new piece), or running text. */
    private static void addLongLine(List<String> pieces, String line) {
        String body = line.substring(1).strip();
        if (body.equals(".")) {
            pieces.add("");
            return;
        }
        var bullet = BULLET.matcher(body);
        if (bullet.find()) {
            pieces.add(body.substring(bullet.end()));
            return;
        }
        int last = pieces.size() - 1;
        pieces.set(last, pieces.get(last) + " " + body);
    }

    private static void addTexts(List<Text> out, Set<String> seen, String record, List<String> pieces) {
        List<String> candidates = new ArrayList<>();
        candidates.add(pieces.get(0)); // the short description is one text
        for (String piece : pieces.subList(1, pieces.size())) {
            Collections.addAll(candidates, SENTENCE_END.split(piece));
        }
        int n = 0;
        for (String candidate : candidates) {
            String text = WHITESPACE.matcher(candidate).replaceAll(" ").strip();
            if (n < MAX_TEXTS_PER_DESCRIPTION && keep(text) && seen.add(text.toLowerCase(Locale.ROOT))) {
                out.add(new Text(record + "/" + n++, text));
            }
        }
    }

    /** {@value #MIN_CHARS}–{@value #MAX_CHARS} characters, mostly letters. */
    static boolean keep(String text) {
        if (text.length() < MIN_CHARS || text.length() > MAX_CHARS) {
            return false;
        }
        int letters = 0;
        int other = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isLetter(c)) {
                letters++;
            } else if (c != ' ') {
                other++;
            }
        }
        return letters * 100 >= MIN_LETTER_PERCENT * (letters + other);
    }
}
