package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.encryptedknn.client.CkksSearch;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.ExactSearch;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.corpus.Encoder;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.SearchMode;
import org.encryptedknn.transform.VectorTransform;

/**
 * Encrypted index vs the plaintext opensearch-knn baseline on one running node, in one run:
 * recall@10 against exact brute force, p50/p95 latency, bulk indexing docs/s, size on disk.
 *
 * <pre>java … org.encryptedknn.tools.bench.SearchBench [--url http://127.0.0.1:9200] [--docs 0=all]
 *     [--queries 200] [--encoder all-minilm-l6-v2] [--k 100] [--cells 64] [--probe 8] [--beta 0.5] [--sizes 100,30]</pre>
 *
 * {@code --sizes}: how many of the k rescored hits (window = k) come back to the key holder, which re-ranks them
 * exactly; the query rows are printed for each. The data node's keyed order is good enough that the true top 10 are
 * almost always among its first 30, and each returned hit costs a fetch, ≈ 1 KB of response and a decryption.
 */
public final class SearchBench {

    public static final String FIELD = "embedding";
    static final String PLAIN_INDEX = "bench-plain";
    public static final String ENCRYPTED_INDEX = "bench-encrypted";
    static final Indices.Hnsw HNSW = Indices.Hnsw.DEFAULT;
    public static final int TOP = 10;

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("SearchBench", args);
        String url = a.get("--url", "http://127.0.0.1:9200");
        int k = a.integer("--k", 100);
        int cells = a.integer("--cells", 64);
        int probe = a.integer("--probe", 8);
        int[] sizes = Arrays.stream(a.get("--sizes", Integer.toString(k)).split(","))
                .mapToInt(Integer::parseInt)
                .toArray();
        double beta = a.number("--beta", ModelParameters.DEFAULT_BETA);
        List<SearchMode> modes = a.list("--modes").isEmpty()
                ? List.of(SearchMode.KEY_HOLDER, SearchMode.KEYED_LEAKS_QUERY_RESIDUALS)
                : a.list("--modes").stream().map(SearchMode::fromString).toList();

        Workload workload = Workload.load(a);
        float[][] vectors = workload.vectors();
        float[][] queries = workload.queries();
        int d = workload.dimension();
        ModelParameters params = new ModelParameters(d, Space.COSINE, d / 4, cells, beta, 1);
        float[][] sample = Arrays.copyOf(vectors, Math.min(2000, vectors.length));
        OpenSearchHttp node = new OpenSearchHttp(url);

        try (MasterKey master = MasterKey.generate();
                KeyDerivation keys = new KeyDerivation(master)) {
            long fitStart = System.nanoTime();
            EncryptionModel model = ModelFitter.fit("bench", params, sample);
            System.out.printf(
                    Locale.ROOT,
                    "model: fitted on %d vectors in %.1f s (d_pub=%d, C=%d, beta=%.2f x scale %.3f)%n",
                    sample.length,
                    seconds(fitStart),
                    params.prefixDimension(),
                    cells,
                    beta,
                    model.betaScale());
            CkksParameters ckksParams = CkksParameters.forResidualLength(model.residualLength());
            try (VectorTransform transform = new VectorTransform(model, keys);
                    CkksContext ckksContext = modes.contains(SearchMode.CKKS) ? CkksContext.create(ckksParams) : null;
                    CkksSecretKey ckksKey = ckksContext == null ? null : CkksSecretKey.generate(ckksContext);
                    CkksKeyHolder ckks = ckksContext == null ? null : new CkksKeyHolder(ckksContext, ckksKey)) {
                transform.warmUp();
                int[][] truth = exactTopK(vectors, queries, TOP);

                Indices.LoadResult plainIdx = indexPlain(node, vectors, d);
                Indices.LoadResult encIdx = indexEncrypted(node, transform, vectors);

                // key_holder returns every candidate (the key holder ranks them all), so one size: k. Query i of
                // every path runs before query i + 1 of any, so that a shared machine's load changes hit all alike.
                List<String> labels = new ArrayList<>();
                List<Searcher> searchers = new ArrayList<>(List.of(queryPlain(node, queries, k)));
                for (SearchMode mode : modes) {
                    for (int size : mode == SearchMode.KEY_HOLDER ? new int[] {k} : sizes) {
                        labels.add(" [" + mode.wireName() + ", " + size + " of " + k + " hits]");
                        searchers.add(queryEncrypted(node, transform, ckks, mode, queries, k, probe, size));
                    }
                }
                List<QueryResult> results = timeQueries(node, queries.length, searchers, truth);
                QueryResult plainQ = results.get(0);
                List<QueryResult> encQ = results.subList(1, results.size());

                System.out.println();
                System.out.printf(Locale.ROOT, "%-50s %14s %14s %9s%n", "metric", "plaintext", "encrypted", "ratio");
                for (int j = 0; j < encQ.size(); j++) {
                    QueryResult enc = encQ.get(j);
                    String at = labels.get(j);
                    row("recall@10 (vs exact top-10)" + at, plainQ.recall, enc.recall, "%.3f");
                    row("recall@10, server order only" + at, plainQ.recall, enc.serverRecall, "%.3f");
                    row("query latency p50 (ms)" + at, plainQ.p50, enc.p50, "%.2f");
                    row("query latency p95 (ms)" + at, plainQ.p95, enc.p95, "%.2f");
                    row("server took p50 (ms)" + at, plainQ.tookP50, enc.tookP50, "%.2f");
                    row("response bytes per query" + at, plainQ.bytesPerQuery, enc.bytesPerQuery, "%.0f");
                    row("request bytes per query" + at, plainQ.requestBytesPerQuery, enc.requestBytesPerQuery, "%.0f");
                }
                row("bulk indexing (docs/s)", plainIdx.docsPerSecond(), encIdx.docsPerSecond(), "%.0f");
                row("index size on disk (MB)", plainIdx.storeBytes() / 1e6, encIdx.storeBytes() / 1e6, "%.2f");
                System.out.printf(
                        Locale.ROOT,
                        "%nsettings: k=%d, window=%d, probe cells=%d (ckks, keyed), m=%d, ef_construction=%d, 1 shard, force-merged%n",
                        k,
                        k,
                        probe,
                        HNSW.m(),
                        HNSW.efConstruction());
            }
        }
    }

    private static void row(String name, double plain, double enc, String fmt) {
        System.out.printf(
                Locale.ROOT,
                "%-50s %14s %14s %9.2f%n",
                name,
                String.format(Locale.ROOT, fmt, plain),
                String.format(Locale.ROOT, fmt, enc),
                plain == 0 ? Double.NaN : enc / plain);
    }

    record QueryResult(
            double recall,
            double serverRecall,
            double p50,
            double p95,
            double tookP50,
            double bytesPerQuery,
            double requestBytesPerQuery) {}

    static Indices.LoadResult indexPlain(OpenSearchHttp node, float[][] vectors, int d) {
        Indices.recreate(node, PLAIN_INDEX, Indices.plainIndexBody(FIELD, d, "cosinesimil", HNSW));
        return report(
                PLAIN_INDEX,
                Indices.bulkLoad(
                        node,
                        PLAIN_INDEX,
                        vectors.length,
                        i -> vectorDocument(vectors[i]),
                        Indices.ProgressListener.NONE));
    }

    /** {@code {"embedding": [the vector]}}: a plaintext document (the baseline's, or one for an encrypting pipeline). */
    static ObjectNode vectorDocument(float[] vector) {
        ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
        doc.set(FIELD, Indices.floats(vector));
        return doc;
    }

    public static Indices.LoadResult indexEncrypted(OpenSearchHttp node, VectorTransform transform, float[][] vectors) {
        EncryptionModel model = transform.model();
        Indices.recreate(node, ENCRYPTED_INDEX, Indices.encryptedIndexBody(FIELD, ModelMetadata.of(model), HNSW));
        // Encryption happens in the key holder before the bulk request, so it counts in the throughput.
        return report(
                ENCRYPTED_INDEX,
                Indices.bulkLoad(
                        node,
                        ENCRYPTED_INDEX,
                        vectors.length,
                        i -> {
                            ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
                            doc.set(
                                    FIELD,
                                    EncryptedSearch.recordJson(
                                            transform.encryptDocument(vectors[i], Integer.toString(i), FIELD)));
                            return doc;
                        },
                        Indices.ProgressListener.NONE));
    }

    private static Indices.LoadResult report(String index, Indices.LoadResult r) {
        System.out.printf(
                Locale.ROOT,
                "indexed %d docs into %s: %.0f docs/s, %.2f MB%n",
                r.documents(),
                index,
                r.docsPerSecond(),
                r.storeBytes() / 1e6);
        return r;
    }

    static Searcher queryPlain(OpenSearchHttp node, float[][] queries, int k) {
        return i -> {
            ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
            body.put("size", TOP);
            body.put("_source", false);
            ObjectNode params = body.putObject("query").putObject("knn").putObject(FIELD);
            params.set("vector", Indices.floats(queries[i]));
            params.put("k", k);
            JsonNode r = node.post("/" + PLAIN_INDEX + "/_search", body);
            List<String> ids = new ArrayList<>();
            for (JsonNode hit : r.path("hits").path("hits")) {
                ids.add(hit.path("_id").asText());
            }
            return new Answer(ids, ids, r.path("took").asDouble());
        };
    }

    /**
     * One encrypted query per held-out query in {@code mode}, ranked exactly by this key holder. Every mode asks for
     * ids only, like the plaintext query ({@code "_source": false}): each hit's {@code _encrypted_knn} field has what
     * the key holder needs (key_holder: the whole record; the rescore modes: what the node did not compute); ckks
     * through CBOR.
     */
    static Searcher queryEncrypted(
            OpenSearchHttp node,
            VectorTransform transform,
            CkksKeyHolder ckksKeys,
            SearchMode mode,
            float[][] queries,
            int k,
            int probe,
            int size) {
        String path = "/" + ENCRYPTED_INDEX + "/_search";
        return i -> {
            EncryptedSearch search = new EncryptedSearch(transform, FIELD, queries[i]);
            List<String> exact = new ArrayList<>();
            JsonNode r;
            if (mode == SearchMode.KEY_HOLDER) {
                r = node.post(path, search.keyHolderBody(k).put("_source", false));
                search.exactRanking(r).forEach(hit -> exact.add(hit.id()));
            } else if (mode == SearchMode.CKKS) {
                search.withCells(transform.probeCells(search.query(), probe));
                CkksSearch ckks = new CkksSearch(search, ckksKeys);
                r = node.postCbor(path, ckks.body(k, k, size).put("_source", false));
                ckks.ranking(r).forEach(hit -> exact.add(hit.id()));
            } else {
                search.withCells(transform.probeCells(search.query(), probe));
                r = node.post(path, search.keyedBody(k, k, size).put("_source", false));
                search.exactRanking(r).forEach(hit -> exact.add(hit.id()));
            }
            List<String> serverOrder = new ArrayList<>();
            for (JsonNode hit : r.path("hits").path("hits")) {
                serverOrder.add(hit.path("_id").asText());
            }
            return new Answer(exact, serverOrder, r.path("took").asDouble());
        };
    }

    record Answer(List<String> exactOrder, List<String> serverOrder, double tookMs) {}

    interface Searcher {
        Answer search(int query);
    }

    /** Times {@code n} queries of every searcher, interleaved (query i of each before query i + 1 of any). */
    static List<QueryResult> timeQueries(OpenSearchHttp node, int n, List<Searcher> searchers, int[][] truth) {
        int m = searchers.size();
        for (int i = 0; i < Math.min(20, n); i++) {
            for (Searcher searcher : searchers) {
                searcher.search(i); // warm-up
            }
        }
        double[][] latencies = new double[m][n];
        double[][] took = new double[m][n];
        double[] recall = new double[m];
        double[] serverRecall = new double[m];
        long[] sent = new long[m];
        long[] received = new long[m];
        for (int i = 0; i < n; i++) {
            for (int s = 0; s < m; s++) {
                long sent0 = node.bytesSent();
                long received0 = node.bytesReceived();
                long start = System.nanoTime();
                Answer answer = searchers.get(s).search(i);
                latencies[s][i] = (System.nanoTime() - start) / 1e6;
                sent[s] += node.bytesSent() - sent0;
                received[s] += node.bytesReceived() - received0;
                took[s][i] = answer.tookMs();
                recall[s] += recall(answer.exactOrder(), truth[i]);
                serverRecall[s] += recall(answer.serverOrder(), truth[i]);
            }
        }
        List<QueryResult> out = new ArrayList<>();
        for (int s = 0; s < m; s++) {
            out.add(new QueryResult(
                    recall[s] / n,
                    serverRecall[s] / n,
                    percentile(latencies[s], 50),
                    percentile(latencies[s], 95),
                    percentile(took[s], 50),
                    received[s] / (double) n,
                    sent[s] / (double) n));
        }
        return out;
    }

    static double recall(List<String> ids, int[] truth) {
        Set<String> top = new HashSet<>(ids.subList(0, Math.min(TOP, ids.size())));
        int hit = 0;
        for (int t : truth) {
            if (top.contains(Integer.toString(t))) {
                hit++;
            }
        }
        return hit / (double) truth.length;
    }

    public static int[][] exactTopK(float[][] docs, float[][] queries, int k) {
        int[][] out = new int[queries.length][];
        for (int q = 0; q < queries.length; q++) {
            out[q] = ExactSearch.topK(queries[q], docs, k, Space.COSINE);
        }
        return out;
    }

    public static double percentile(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** Prints the verdict of a run with checks; exit status 1 when one failed (the reliability drivers rely on it). */
    public static void finish(List<String> failures) {
        System.out.println();
        if (failures.isEmpty()) {
            System.out.println("RESULT: all checks passed");
        } else {
            failures.forEach(f -> System.out.println("CHECK FAILED: " + f));
            System.exit(1);
        }
    }

    public static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /**
     * The embedded corpus split into indexed vectors and held-out queries: {@code --docs} (default 0 = all),
     * {@code --queries} (default 200) and {@code --encoder} (default all-minilm-l6-v2). Prints a one-line summary.
     */
    public record Workload(float[][] vectors, float[][] queries, int dimension) {
        public static Workload load(Options a) {
            int docs = a.integer("--docs", 0);
            int queryCount = a.integer("--queries", 200);
            Encoder encoder = Encoder.parse(a.get("--encoder", Encoder.DEFAULT.wireName()));
            EmbeddedCorpus corpus = EmbeddedCorpus.load(encoder, docs <= 0 ? 0 : docs + queryCount);
            EmbeddedCorpus.Split split = corpus.split(corpus.size() - queryCount, queryCount);
            Workload w = new Workload(split.index().vectors(), split.queries().vectors(), corpus.dimension());
            System.out.printf(
                    Locale.ROOT,
                    "corpus: %d documents indexed, %d held-out queries, d=%d (%s)%n",
                    w.vectors.length,
                    w.queries.length,
                    w.dimension,
                    corpus.modelName());
            return w;
        }
    }
}
