package org.encryptedknn.corpus;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Embeds a prefix of a {@link TextCorpus} and keeps the vectors in a {@link VectorCache} file under the cache directory
 * ({@link CacheDirs}). A cache holding a longer prefix serves shorter loads; a shorter one is extended by embedding only
 * the missing texts. A cache is used only if its header names the encoder and the corpus version and its content digest
 * matches the ids and texts of the prefix, so a change of source, parser, order or text recipe invalidates it by itself.
 */
public final class CachedEmbeddings {

    private CachedEmbeddings() {}

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

    /** The first texts of a corpus and their unit-norm vectors. */
    public record Loaded<T extends CorpusText>(List<T> texts, float[][] vectors, Stats stats) {}

    /**
     * The first {@code limit} texts of {@code corpus} ({@code limit <= 0} or more than the corpus holds: all of them)
     * with {@code encoder}'s vectors; embeds (showing {@code label} on a progress bar) and caches what is not cached.
     */
    public static <T extends CorpusText> Loaded<T> load(TextCorpus<T> corpus, Encoder encoder, int limit, String label)
            throws IOException {
        long t0 = System.nanoTime();
        List<T> all = corpus.texts();
        int n = limit <= 0 ? all.size() : Math.min(limit, all.size());

        // Best cached prefix across all cache directories.
        float[][] cached = new float[0][];
        Path cachedFrom = null;
        for (Path file : CacheDirs.existing(corpus.cacheFile(encoder))) {
            float[][] v = readValidPrefix(corpus, encoder, file, all);
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
            cacheFile = writeCache(corpus, encoder, all, cached.length > n ? cached : vectors);
        }
        double total = (System.nanoTime() - t0) / 1e9;
        return new Loaded<>(all.subList(0, n), vectors, new Stats(fromCache, toEmbed, embedSeconds, total, cacheFile));
    }

    /** The vectors of a cache file if it is intact and matches the corpus prefix, else null (with a warning). */
    private static float[][] readValidPrefix(
            TextCorpus<?> corpus, Encoder encoder, Path file, List<? extends CorpusText> all) {
        try {
            VectorCache.Header h = VectorCache.readHeader(file);
            if (!h.model().equals(encoder.wireName())
                    || h.dimension() != encoder.dimension()
                    || !h.corpusVersion().equals(corpus.version(encoder))
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

    private static Path writeCache(
            TextCorpus<?> corpus, Encoder encoder, List<? extends CorpusText> all, float[][] vectors) {
        try {
            Path file = CacheDirs.writable().resolve(corpus.cacheFile(encoder));
            VectorCache.write(
                    file,
                    encoder.wireName(),
                    corpus.version(encoder),
                    VectorCache.contentDigest(all, vectors.length),
                    vectors);
            return file;
        } catch (IOException e) {
            System.err.println("encrypted-knn corpus: could not write the vector cache: " + e.getMessage());
            return null;
        }
    }
}
