package org.encryptedknn.corpus;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The SpamAssassin corpus with its embeddings (all-MiniLM-L6-v2 by default, or another {@link Encoder}), in a fixed shuffled order that
 * mixes ham and spam; so every prefix of it ({@code load(n)}) is a representative sample and is the
 * prefix of every larger load.
 *
 * <p>Vectors are cached in {@value #CACHE_FILE} (other encoders: {@link #cacheFile}; format: {@link VectorCache}) under the cache
 * directory ({@link CacheDirs}). A cache holding a longer prefix serves shorter loads; a shorter one
 * is extended by embedding only the missing messages. The cache is keyed by a digest of the ids and
 * texts embedded, so a change of parser, order or text recipe invalidates it by itself.
 */
public final class EmbeddedCorpus {
    public static final String CACHE_FILE = cacheFile(Encoder.DEFAULT);
    /** Upper bound of {@link #forTests(int)}. */
    public static final int MAX_TEST_LIMIT = 1000;

    private static final Object LOCK = new Object();
    private static final Map<Encoder, EmbeddedCorpus> LARGEST = new EnumMap<>(Encoder.class);

    private final Encoder encoder;
    private final List<CorpusMessage> messages;
    private final float[][] vectors;
    private final Stats stats;

    /**
     * How a load went.
     *
     * @param fromCache     vectors read from the cache
     * @param embedded      vectors computed by this load
     * @param embedSeconds  wall time spent embedding
     * @param totalSeconds  wall time of the whole load (parse, cache, embed, write)
     * @param cacheFile     the cache file read or written (null if none could be written)
     */
    public record Stats(int fromCache, int embedded, double embedSeconds, double totalSeconds, Path cacheFile) {
        public double vectorsPerSecond() {
            return embedSeconds > 0 ? embedded / embedSeconds : Double.NaN;
        }
    }

    /** Indexed messages and held-out queries (disjoint). */
    public record Split(EmbeddedCorpus index, EmbeddedCorpus queries) {}

    /** The cache file name of {@code encoder}'s vectors ({@value #CACHE_FILE} for the default encoder). */
    public static String cacheFile(Encoder encoder) {
        return "spam-assassin-" + SpamAssassinCorpus.NPM_VERSION + "-" + encoder.wireName() + ".f32vec";
    }

    private EmbeddedCorpus(Encoder encoder, List<CorpusMessage> messages, float[][] vectors, Stats stats) {
        this.encoder = encoder;
        this.messages = List.copyOf(messages);
        this.vectors = vectors;
        this.stats = stats;
    }

    /**
     * The first {@code limit} messages of the fixed shuffled order with their vectors
     * ({@code limit <= 0}: the whole corpus). Embeds and caches what is not cached yet.
     */
    public static EmbeddedCorpus load(int limit) {
        return load(Encoder.DEFAULT, limit);
    }

    /** As {@link #load(int)}, embedded with {@code encoder} (cached in its own file, {@link #cacheFile}). */
    public static EmbeddedCorpus load(Encoder encoder, int limit) {
        try {
            return loadChecked(encoder, limit, "embedding corpus (" + encoder.wireName() + ")");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A small slice for unit tests (1 ≤ limit ≤ {@value #MAX_TEST_LIMIT}); same cache as {@link #load}. */
    public static EmbeddedCorpus forTests(int limit) {
        if (limit <= 0 || limit > MAX_TEST_LIMIT) {
            throw new IllegalArgumentException("forTests limit must be in 1.." + MAX_TEST_LIMIT + ", got " + limit);
        }
        try {
            return loadChecked(Encoder.DEFAULT, limit, "embedding test corpus");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static EmbeddedCorpus loadChecked(int limit, String label) throws IOException {
        return loadChecked(Encoder.DEFAULT, limit, label);
    }

    public static EmbeddedCorpus loadChecked(Encoder encoder, int limit, String label) throws IOException {
        synchronized (LOCK) {
            long t0 = System.nanoTime();
            EmbeddedCorpus largest = LARGEST.get(encoder);
            if (largest != null && limit > 0 && largest.size() >= limit) {
                return largest.slice(0, limit);
            }
            List<CorpusMessage> all = SpamAssassinCorpus.shuffledMessages();
            int n = limit <= 0 ? all.size() : Math.min(limit, all.size());
            if (largest != null && largest.size() >= n) {
                return largest.slice(0, n);
            }

            // Best cached prefix across all cache directories.
            float[][] cached = new float[0][];
            Path cachedFrom = null;
            for (Path file : CacheDirs.existing(cacheFile(encoder))) {
                float[][] v = readValidPrefix(encoder, file, all);
                if (v != null && v.length > cached.length) {
                    cached = v;
                    cachedFrom = file;
                    if (v.length >= n) {
                        break;
                    }
                }
            }
            int fromCache = Math.min(cached.length, n);
            float[][] vectors = new float[n][];
            System.arraycopy(cached, 0, vectors, 0, fromCache);
            int toEmbed = n - fromCache;
            double embedSeconds = 0;
            Path cacheFile = cachedFrom;
            if (toEmbed > 0) {
                List<String> texts = new ArrayList<>(toEmbed);
                for (int i = fromCache; i < n; i++) {
                    texts.add(all.get(i).embeddingText());
                }
                Embedder embedder = Embedder.shared(encoder);
                long e0 = System.nanoTime();
                float[][] fresh;
                try (ProgressBar bar = new ProgressBar(label, toEmbed)) {
                    fresh = embedder.embedAll(texts, bar);
                }
                embedSeconds = (System.nanoTime() - e0) / 1e9;
                System.arraycopy(fresh, 0, vectors, fromCache, toEmbed);
                // Never shrink the cache: keep the longer cached prefix if there is one.
                float[][] toWrite = vectors;
                if (cached.length > n) {
                    toWrite = cached;
                }
                cacheFile = writeCache(encoder, all, toWrite);
            }
            double total = (System.nanoTime() - t0) / 1e9;
            EmbeddedCorpus result = new EmbeddedCorpus(
                    encoder, all.subList(0, n), vectors, new Stats(fromCache, toEmbed, embedSeconds, total, cacheFile));
            if (largest == null || largest.size() < n) {
                LARGEST.put(encoder, result);
            }
            return result;
        }
    }

    /** The vectors of a cache file if it is intact and matches the corpus prefix, else null (with a warning). */
    private static float[][] readValidPrefix(Encoder encoder, Path file, List<CorpusMessage> all) {
        try {
            VectorCache.Header h = VectorCache.readHeader(file);
            if (!h.model().equals(encoder.wireName())
                    || h.dimension() != encoder.dimension()
                    || !h.corpusVersion().equals(SpamAssassinCorpus.corpusVersion(encoder))
                    || h.count() > all.size()) {
                System.err.println("encrypted-knn corpus: ignoring stale cache " + file + " (" + h.model() + ", "
                        + h.corpusVersion() + ", n=" + h.count() + ")");
                return null;
            }
            if (!Arrays.equals(h.contentDigest(), VectorCache.contentDigest(all, h.count()))) {
                System.err.println("encrypted-knn corpus: ignoring stale cache " + file + " (texts or order changed)");
                return null;
            }
            return VectorCache.read(file).vectors();
        } catch (IOException e) {
            System.err.println("encrypted-knn corpus: ignoring unreadable cache: " + e.getMessage());
            return null;
        }
    }

    private static Path writeCache(Encoder encoder, List<CorpusMessage> all, float[][] vectors) {
        try {
            Path file = CacheDirs.writable().resolve(cacheFile(encoder));
            VectorCache.write(
                    file,
                    encoder.wireName(),
                    SpamAssassinCorpus.corpusVersion(encoder),
                    VectorCache.contentDigest(all, vectors.length),
                    vectors);
            return file;
        } catch (IOException e) {
            System.err.println("encrypted-knn corpus: could not write the vector cache: " + e.getMessage());
            return null;
        }
    }

    /** Messages in corpus order. */
    public List<CorpusMessage> messages() {
        return messages;
    }

    /** Unit-norm vectors, one per message (shared arrays: do not modify). */
    public float[][] vectors() {
        return vectors;
    }

    public int size() {
        return messages.size();
    }

    public int dimension() {
        return encoder.dimension();
    }

    public String modelName() {
        return encoder.wireName();
    }

    public Encoder encoder() {
        return encoder;
    }

    public Stats stats() {
        return stats;
    }

    /** Messages [from, to) with their vectors. */
    public EmbeddedCorpus slice(int from, int to) {
        if (from < 0 || to > size() || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of " + size());
        }
        return new EmbeddedCorpus(encoder, messages.subList(from, to), Arrays.copyOfRange(vectors, from, to), stats);
    }

    /**
     * The first {@code indexCount} messages to index and the next {@code queryCount} as held-out
     * queries (never indexed).
     */
    public Split split(int indexCount, int queryCount) {
        if (indexCount < 0 || queryCount < 0 || (long) indexCount + queryCount > size()) {
            throw new IllegalArgumentException(
                    "split " + indexCount + " + " + queryCount + " > " + size() + " messages");
        }
        return new Split(slice(0, indexCount), slice(indexCount, indexCount + queryCount));
    }

    /** The shared encoder, for embedding arbitrary query texts the same way. */
    public static Embedder embedder() {
        return Embedder.shared();
    }
}
