package org.encryptedknn.tools.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.encryptedknn.client.ExactSearch;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.corpus.CachedEmbeddings;
import org.encryptedknn.corpus.DebianDescriptions;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.corpus.Encoder;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.VectorTransform;

/**
 * The vectors of a scale run: the real SpamAssassin MiniLM embeddings when the corpus holds enough of them, otherwise
 * draws of {@link MatchedEmbeddings} fitted to the whole real corpus, or the real MiniLM embeddings of Debian package
 * descriptions ({@link DebianDescriptions}, about 199,000 texts); held-out queries from the same source; and the exact
 * top 10 of every query by brute force (the ground truth of recall).
 *
 * <p>Options: {@code --vectors N} (indexed documents), {@code --queries Q} (default 200), {@code --corpus
 * auto|real|matched|debian} (auto: real when N + Q fit in the SpamAssassin corpus, else matched; real: SpamAssassin;
 * debian: the first N + Q Debian texts, embedded on first use), {@code --clusters} (mixture components, default 64),
 * {@code --seed}.
 */
public record ScaleWorkload(
        float[][] vectors, float[][] reserve, float[][] queries, CompletableFuture<int[][]> exact, String source) {

    public static final int TOP = 10;

    public static ScaleWorkload load(Options a) {
        return load(a, 0);
    }

    /**
     * The workload with {@code reserved} more documents from the same source, kept apart from {@link #vectors()} and
     * from the ground truth (for documents written during a run).
     */
    public static ScaleWorkload load(Options a, int reserved) {
        int n = a.integer("--vectors", 100_000);
        int q = a.integer("--queries", 200);
        String corpus = a.get("--corpus", "auto");
        long seed = a.integer("--seed", 17);
        long t0 = System.nanoTime();
        float[][] vectors;
        float[][] queries;
        String source;
        if (corpus.equals("debian")) {
            int available = debianSize();
            if (n + reserved + q > available) { // checked before anything is embedded
                throw tooFew("debian", available, n, q, reserved);
            }
            CachedEmbeddings.Loaded<DebianDescriptions.Text> debian = debian(n + reserved + q);
            vectors = Arrays.copyOfRange(debian.vectors(), 0, n + reserved);
            queries = Arrays.copyOfRange(debian.vectors(), n + reserved, n + reserved + q);
            source = String.format(
                    Locale.ROOT,
                    "real: %s, Debian bookworm package descriptions (%d of %d texts)",
                    Encoder.DEFAULT.wireName(),
                    n + q,
                    available);
        } else {
            EmbeddedCorpus real = EmbeddedCorpus.load(0);
            boolean useReal = corpus.equals("real") || (corpus.equals("auto") && n + reserved + q <= real.size());
            if (useReal) {
                if (n + reserved + q > real.size()) {
                    throw tooFew("real", real.size(), n, q, reserved);
                }
                EmbeddedCorpus.Split split = real.split(n + reserved, q);
                vectors = split.index().vectors();
                queries = split.queries().vectors();
                source = String.format(
                        Locale.ROOT, "real: %s, SpamAssassin (%d of %d)", real.modelName(), n + q, real.size());
            } else if (corpus.equals("matched") || corpus.equals("auto")) {
                int clusters = a.integer("--clusters", 64);
                double pooledPrior = a.number("--pooled-prior", MatchedEmbeddings.POOLED_PRIOR);
                MatchedEmbeddings mixture = MatchedEmbeddings.fit(real.vectors(), clusters, pooledPrior, seed);
                vectors = mixture.sample(n + reserved, seed);
                queries = mixture.sample(q, seed + 1);
                source = String.format(
                        Locale.ROOT,
                        "matched synthetic: %d-component Gaussian mixture fitted to the %d real %s vectors (seed %d)",
                        clusters,
                        real.size(),
                        real.modelName(),
                        seed);
            } else {
                throw new IllegalArgumentException("--corpus must be auto, real, debian or matched, got " + corpus);
            }
        }
        float[][] reserve = Arrays.copyOfRange(vectors, n, n + reserved);
        vectors = Arrays.copyOf(vectors, n);
        float[][] docs = vectors;
        float[][] qs = queries;
        System.out.printf(
                Locale.ROOT,
                "corpus: %d documents, %d held-out queries, d=%d, %s, in %.1f s%n",
                n,
                q,
                vectors[0].length,
                source,
                SearchBench.seconds(t0));
        // brute force over 10^6 documents takes minutes: it runs while the node ingests
        CompletableFuture<int[][]> exact = CompletableFuture.supplyAsync(
                () -> {
                    long start = System.nanoTime();
                    int[][] truth = new int[qs.length][];
                    IntStream.range(0, qs.length)
                            .parallel()
                            .forEach(i -> truth[i] = ExactSearch.topK(qs[i], docs, TOP, Space.COSINE));
                    System.out.printf(
                            Locale.ROOT,
                            "exact top-%d of every query in %.1f s; mean cosine of the 1st / 10th exact neighbour"
                                    + " %.3f / %.3f%n",
                            TOP,
                            SearchBench.seconds(start),
                            meanNeighbourCosine(qs, docs, truth, 0),
                            meanNeighbourCosine(qs, docs, truth, TOP - 1));
                    return truth;
                },
                task -> Thread.ofPlatform().daemon().start(task));
        return new ScaleWorkload(vectors, reserve, queries, exact, source);
    }

    /** The first {@code count} Debian description texts with their MiniLM vectors (embedded once, then cached). */
    private static CachedEmbeddings.Loaded<DebianDescriptions.Text> debian(int count) {
        try {
            return CachedEmbeddings.load(
                    DebianDescriptions.BOOKWORM, Encoder.DEFAULT, count, "embedding Debian descriptions");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static IllegalArgumentException tooFew(String corpus, int holds, int n, int q, int reserved) {
        return new IllegalArgumentException("--corpus " + corpus + " holds " + holds + " vectors: --vectors " + n
                + " + --queries " + q + (reserved > 0 ? " + " + reserved + " reserved" : "") + " do not fit");
    }

    private static int debianSize() {
        try {
            return DebianDescriptions.BOOKWORM.texts().size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The exact top 10 of every query (waits for the brute force to finish). */
    public int[][] truth() {
        return exact.join();
    }

    public int dimension() {
        return vectors[0].length;
    }

    /** Mean cosine between a query and its exact {@code rank}-th neighbour: how tight the neighbourhoods are. */
    static double meanNeighbourCosine(float[][] queries, float[][] vectors, int[][] truth, int rank) {
        return IntStream.range(0, queries.length)
                .mapToDouble(i -> VectorTransform.similarity(queries[i], vectors[truth[i][rank]], Space.COSINE))
                .average()
                .orElse(Double.NaN);
    }

    /** A sample of the documents, spread over the whole set, for the model fit. */
    public float[][] trainingSample(int count) {
        int step = Math.max(1, vectors.length / count);
        return IntStream.range(0, Math.min(count, vectors.length))
                .mapToObj(i -> vectors[i * step])
                .toArray(float[][]::new);
    }
}
