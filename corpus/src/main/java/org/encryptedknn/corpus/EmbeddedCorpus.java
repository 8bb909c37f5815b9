package org.encryptedknn.corpus;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The SpamAssassin corpus with its embeddings (all-MiniLM-L6-v2 by default, or another {@link Encoder}), in a fixed shuffled order that
 * mixes ham and spam; so every prefix of it ({@code load(n)}) is a representative sample and is the
 * prefix of every larger load.
 *
 * <p>Vectors are cached in {@value #CACHE_FILE} (other encoders: {@link #cacheFile}) by {@link CachedEmbeddings}: a
 * cache holding a longer prefix serves shorter loads, a shorter one is extended, a stale one ignored.
 */
public final class EmbeddedCorpus {
    public static final String CACHE_FILE = cacheFile(Encoder.DEFAULT);
    /** Upper bound of {@link #forTests(int)}. */
    public static final int MAX_TEST_LIMIT = 1000;

    private static final Object LOCK = new Object();
    private static final TextCorpus<CorpusMessage> SPAM_ASSASSIN = new TextCorpus<>() {
        @Override
        public List<CorpusMessage> texts() throws IOException {
            return SpamAssassinCorpus.shuffledMessages();
        }

        @Override
        public String cacheFile(Encoder encoder) {
            return EmbeddedCorpus.cacheFile(encoder);
        }

        @Override
        public String version(Encoder encoder) {
            return SpamAssassinCorpus.corpusVersion(encoder);
        }
    };
    private static final Map<Encoder, EmbeddedCorpus> LARGEST = new EnumMap<>(Encoder.class);

    private final Encoder encoder;
    private final List<CorpusMessage> messages;
    private final float[][] vectors;
    private final CachedEmbeddings.Stats stats;

    /** Indexed messages and held-out queries (disjoint). */
    public record Split(EmbeddedCorpus index, EmbeddedCorpus queries) {}

    /** The cache file name of {@code encoder}'s vectors ({@value #CACHE_FILE} for the default encoder). */
    public static String cacheFile(Encoder encoder) {
        return "spam-assassin-" + SpamAssassinCorpus.NPM_VERSION + "-" + encoder.wireName() + ".f32vec";
    }

    private EmbeddedCorpus(
            Encoder encoder, List<CorpusMessage> messages, float[][] vectors, CachedEmbeddings.Stats stats) {
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
            EmbeddedCorpus largest = LARGEST.get(encoder);
            if (largest != null && ((limit > 0 && largest.size() >= limit) || largest.size() == corpusSize())) {
                return largest.slice(0, limit <= 0 ? largest.size() : Math.min(limit, largest.size()));
            }
            CachedEmbeddings.Loaded<CorpusMessage> loaded = CachedEmbeddings.load(SPAM_ASSASSIN, encoder, limit, label);
            EmbeddedCorpus result = new EmbeddedCorpus(encoder, loaded.texts(), loaded.vectors(), loaded.stats());
            if (largest == null || largest.size() < result.size()) {
                LARGEST.put(encoder, result);
            }
            return result;
        }
    }

    private static int corpusSize() throws IOException {
        return SpamAssassinCorpus.shuffledMessages().size();
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

    public CachedEmbeddings.Stats stats() {
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
