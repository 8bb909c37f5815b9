package org.encryptedknn.tools.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.transform.SearchMode;

/**
 * The scale benchmark (run by scripts/scale-bench.sh): gateway mode against plaintext opensearch-knn on one node, in one
 * run. The node holds the key; this process is an application that sends plaintext vectors: bulk through the encrypting
 * ingest pipeline and through the plaintext index's plain bulk, queries through a search pipeline per search mode and
 * plain k-NN queries. Prints recall@10 against exact brute force, p50/p95/p99 latency and throughput at each number of
 * concurrent clients, ingest docs/s, size on disk, heap and off-heap memory, and the load average.
 *
 * <pre>java … org.encryptedknn.tools.bench.ScaleBench --url http://127.0.0.1:9450 [--vectors 100000] [--queries 200]
 *     [--corpus auto|real|matched] [--k 100] [--clients 1,8] [--modes key_holder,ckks,keyed_leaks_query_residuals]
 *     [--shards 1] [--replicas 0] [--training 2000]</pre>
 */
public final class ScaleBench {

    static final String PLAIN_INDEX = "scale-plain";
    static final String ENCRYPTED_INDEX = "scale-encrypted";
    static final int WARM_UP = 20;
    static final List<SearchMode> ALL_MODES =
            List.of(SearchMode.KEY_HOLDER, SearchMode.CKKS, SearchMode.KEYED_LEAKS_QUERY_RESIDUALS);

    private ScaleBench() {}

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("ScaleBench", args);
        OpenSearchHttp node = new OpenSearchHttp(a.get("--url", "http://127.0.0.1:9450"));
        int k = a.integer("--k", 100);
        int shards = a.integer("--shards", 1);
        int replicas = a.integer("--replicas", 0);
        int[] clients = clients(a);
        List<SearchMode> modes = a.list("--modes").isEmpty()
                ? ALL_MODES
                : a.list("--modes").stream().map(SearchMode::fromString).toList();
        System.out.printf(Locale.ROOT, "load average at start: %s%n", LoadAverage.read());

        ScaleWorkload w = ScaleWorkload.load(a);
        int n = w.vectors().length;
        GatewayIndices gateway = new GatewayIndices(node, "scale");
        gateway.setUp(w.trainingSample(a.integer("--training", 2000)), modes);
        gateway.createPlain(PLAIN_INDEX, w.dimension(), shards, replicas);
        Indices.LoadResult plainLoad = gateway.load(PLAIN_INDEX, w.vectors(), n);
        gateway.createEncrypted(ENCRYPTED_INDEX, shards, replicas);
        Indices.LoadResult encLoad = gateway.load(ENCRYPTED_INDEX, w.vectors(), n);
        System.out.println("k-NN derived source of " + PLAIN_INDEX + ": " + derivedSource(node));
        NodeMemory.print(node, "after ingest", List.of(PLAIN_INDEX, ENCRYPTED_INDEX));

        Map<String, List<QueryLoad.Result>> results = new LinkedHashMap<>();
        Map<String, String> loads = new LinkedHashMap<>();
        results.put(
                "plaintext k-NN",
                measure(
                        i -> GatewayIndices.hits(node.post(
                                "/" + PLAIN_INDEX + "/_search", GatewayIndices.plainQuery(w.queries()[i], k))),
                        w,
                        clients));
        loads.put("plaintext k-NN", LoadAverage.read());
        for (SearchMode mode : modes) {
            String path = "/" + ENCRYPTED_INDEX + "/_search?search_pipeline=" + gateway.searchPipeline(mode);
            results.put(
                    mode.wireName(),
                    measure(
                            i -> GatewayIndices.hits(node.post(path, GatewayIndices.encryptedQuery(w.queries()[i], k))),
                            w,
                            clients));
            loads.put(mode.wireName(), LoadAverage.read());
        }
        NodeMemory.print(node, "after the queries", List.of(PLAIN_INDEX, ENCRYPTED_INDEX));

        System.out.printf(
                Locale.ROOT,
                "%n%d documents (%s), %d queries, k = %d candidates, top 10, %d shard(s), %d replica(s), force-merged%n",
                n,
                w.source(),
                w.queries().length,
                k,
                shards,
                replicas);
        System.out.printf(
                Locale.ROOT, "%-28s %s %9s  %s%n", "engine", QueryLoad.Result.header(), "p50 ratio", "load avg after");
        List<QueryLoad.Result> plain = results.get("plaintext k-NN");
        for (Map.Entry<String, List<QueryLoad.Result>> e : results.entrySet()) {
            for (int c = 0; c < clients.length; c++) {
                QueryLoad.Result r = e.getValue().get(c);
                System.out.printf(
                        Locale.ROOT,
                        "%-28s %s %9.2f  %s%n",
                        e.getKey(),
                        r.cells(),
                        r.p50() / plain.get(c).p50(),
                        loads.get(e.getKey()));
            }
        }
        System.out.printf(Locale.ROOT, "%n%-44s %14s %14s %7s%n", "", "plaintext", "encrypted", "ratio");
        System.out.printf(
                Locale.ROOT,
                "%-44s %14.0f %14.0f %7.2f%n",
                "ingest docs/s (bulk 500; refresh + merge)",
                plainLoad.docsPerSecond(),
                encLoad.docsPerSecond(),
                encLoad.docsPerSecond() / plainLoad.docsPerSecond());
        System.out.printf(
                Locale.ROOT,
                "%-44s %14.1f %14.1f %7.2f%n",
                "index size on disk (MB)",
                plainLoad.storeBytes() / 1e6,
                encLoad.storeBytes() / 1e6,
                encLoad.storeBytes() / (double) plainLoad.storeBytes());
        System.out.printf(Locale.ROOT, "load average at the end: %s%n", LoadAverage.read());
    }

    /** {@code --clients}: the numbers of concurrent clients to measure, default 1 and 8. */
    static int[] clients(Options a) {
        return Arrays.stream(a.get("--clients", "1,8").split(","))
                .mapToInt(Integer::parseInt)
                .toArray();
    }

    /** Warm-up, then one batch of all queries at each number of clients. */
    static List<QueryLoad.Result> measure(QueryLoad.Searcher searcher, ScaleWorkload w, int[] clients)
            throws Exception {
        QueryLoad.warmUp(searcher, Math.min(WARM_UP, w.queries().length));
        List<QueryLoad.Result> out = new ArrayList<>();
        for (int c : clients) {
            out.add(QueryLoad.run(c, w.queries().length, searcher, w.truth()));
        }
        return out;
    }

    private static String derivedSource(OpenSearchHttp node) {
        return node.get("/" + PLAIN_INDEX + "/_settings?include_defaults=true&flat_settings=true")
                .path(PLAIN_INDEX)
                .findPath("index.knn.derived_source.enabled")
                .asText("not set");
    }
}
