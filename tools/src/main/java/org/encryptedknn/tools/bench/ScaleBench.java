package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.transform.RecordForm;
import org.encryptedknn.transform.SearchMode;

/**
 * The scale benchmark (run by scripts/scale-bench.sh): gateway mode against plaintext opensearch-knn on one node, in one
 * run. The node holds the key; this process is an application that sends plaintext vectors: bulk through the encrypting
 * ingest pipeline and through the plaintext index's plain bulk, queries through a search pipeline per search mode and
 * plain k-NN queries. Prints recall@10 against exact brute force, p50/p95/p99 latency and throughput at each number of
 * concurrent clients, ingest docs/s, size on disk, heap and off-heap memory, and the load average; then where one
 * client's query time goes, from the profile API ({@link PhaseBreakdown}).
 *
 * <pre>java … org.encryptedknn.tools.bench.ScaleBench --url http://127.0.0.1:9450 [--vectors 100000] [--queries 200]
 *     [--corpus auto|real|matched|debian] [--k 100,300] [--clients 1,8] [--modes key_holder,ckks,keyed_leaks_query_residuals]
 *     [--shards 1] [--replicas 0] [--training 2000] [--reuse] [--sealed]</pre>
 *
 * <p>{@code --sealed} also measures the same vectors in sealed records ({@code record_form: sealed}, a third index)
 * searched in {@code key_holder} mode.
 *
 * <p>{@code --k} takes a list: every engine is measured at every window, so recall can be read against latency (the
 * plaintext engine's {@code k} is its HNSW {@code ef_search} too). {@code --reuse} keeps indices of an earlier run of the
 * same {@code --vectors} and {@code --seed} on the same node (scripts/scale-bench.sh then keeps the data and the key):
 * at 10^6 the ingest takes most of an hour, the queries minutes, so a change of the query path is measured on the same
 * indices without loading them again.
 */
public final class ScaleBench {

    static final String PLAIN_INDEX = "scale-plain";
    static final String ENCRYPTED_INDEX = "scale-encrypted";
    /** With {@code --sealed}: the same vectors in sealed records ({@code record_form: sealed}), searched key_holder. */
    static final String SEALED_INDEX = "scale-encrypted-sealed";
    /**
     * Unmeasured queries per engine and window: with 20 the first engine measured after the node started ran up to
     * twice as slow as the same engine later in the run (JIT, page cache; the 10^5 and 10^6 runs of 2026-12-06).
     */
    static final int WARM_UP = 200;

    /** Queries per engine and window of the profile API breakdown ({@link PhaseBreakdown}), after the measured runs. */
    static final int BREAKDOWN_QUERIES = 200;

    static final List<SearchMode> ALL_MODES =
            List.of(SearchMode.KEY_HOLDER, SearchMode.CKKS, SearchMode.KEYED_LEAKS_QUERY_RESIDUALS);

    private ScaleBench() {}

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("ScaleBench", args);
        OpenSearchHttp node = new OpenSearchHttp(a.get("--url", "http://127.0.0.1:9450"));
        int[] windows = integers(a.get("--k", "100"));
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
        boolean reuse =
                a.flag("--reuse") && Indices.count(node, PLAIN_INDEX) == n && Indices.count(node, ENCRYPTED_INDEX) == n;
        Indices.LoadResult plainLoad = null;
        Indices.LoadResult encLoad = null;
        if (reuse) {
            System.out.printf(
                    Locale.ROOT,
                    "reusing %s and %s (%d documents each) and their model%n",
                    PLAIN_INDEX,
                    ENCRYPTED_INDEX,
                    n);
        } else {
            gateway.setUp(w.trainingSample(a.integer("--training", 2000)), modes);
            gateway.createPlain(PLAIN_INDEX, w.dimension(), shards, replicas);
            plainLoad = gateway.load(PLAIN_INDEX, w.vectors(), n);
            gateway.createEncrypted(ENCRYPTED_INDEX, shards, replicas);
            encLoad = gateway.load(ENCRYPTED_INDEX, w.vectors(), n);
        }
        System.out.println("k-NN derived source of " + PLAIN_INDEX + ": " + derivedSource(node));
        boolean sealed = a.flag("--sealed");
        Indices.LoadResult sealedLoad = null;
        if (sealed && Indices.count(node, SEALED_INDEX) != n) {
            if (reuse) {
                gateway.attach();
            }
            gateway.createEncrypted(SEALED_INDEX, shards, replicas, RecordForm.SEALED);
            sealedLoad = gateway.load(SEALED_INDEX, w.vectors(), n);
        }
        List<String> indices =
                sealed ? List.of(PLAIN_INDEX, ENCRYPTED_INDEX, SEALED_INDEX) : List.of(PLAIN_INDEX, ENCRYPTED_INDEX);
        NodeMemory.print(node, "after ingest", indices);

        // engine name -> one result per window, then per number of clients
        Map<String, List<List<QueryLoad.Result>>> results = new LinkedHashMap<>();
        Map<String, List<String>> loads = new LinkedHashMap<>();
        List<Engine> engines = new ArrayList<>();
        for (int k : windows) {
            engines.add(new Engine(
                    "plaintext k-NN",
                    k,
                    "/" + PLAIN_INDEX + "/_search",
                    i -> GatewayIndices.plainQuery(w.queries()[i], k)));
            for (SearchMode mode : modes) {
                engines.add(new Engine(
                        mode.wireName(),
                        k,
                        "/" + ENCRYPTED_INDEX + "/_search?search_pipeline=" + gateway.searchPipeline(mode),
                        i -> GatewayIndices.encryptedQuery(w.queries()[i], k)));
            }
            if (sealed) {
                engines.add(new Engine(
                        SearchMode.KEY_HOLDER.wireName() + ", sealed",
                        k,
                        "/" + SEALED_INDEX + "/_search?search_pipeline="
                                + gateway.searchPipeline(SearchMode.KEY_HOLDER),
                        i -> GatewayIndices.encryptedQuery(w.queries()[i], k)));
            }
        }
        // Every engine and window is warmed up before any is measured: measured in turn, the first engine after a node
        // start ran up to 2.4× slower than the same queries later in the run (plaintext k = 300: 4.50 ms first, 1.88
        // ms last; docs/performance.md), which its own 200 warm-up queries did not remove.
        for (Engine e : engines) {
            QueryLoad.warmUp(e.searcher(node), WARM_UP, w.queries().length);
        }
        for (Engine e : engines) {
            record(e.name(), results, loads, measure(e.searcher(node), w, clients));
        }
        int profiled = Math.min(BREAKDOWN_QUERIES, w.queries().length);
        List<PhaseBreakdown.Result> phases = new ArrayList<>();
        for (Engine e : engines) {
            phases.add(PhaseBreakdown.measure(node, e.path(), e.body(), profiled));
        }
        NodeMemory.print(node, "after the queries", indices);

        System.out.printf(
                Locale.ROOT,
                "%n%d documents (%s), %d queries, k = %s candidates, top 10, %d shard(s), %d replica(s), force-merged%n",
                n,
                w.source(),
                w.queries().length,
                Arrays.toString(windows),
                shards,
                replicas);
        System.out.printf(
                Locale.ROOT,
                "%-28s %5s %s %9s  %s%n",
                "engine",
                "k",
                QueryLoad.Result.header(),
                "p50 ratio",
                "load avg after");
        List<List<QueryLoad.Result>> plain = results.get("plaintext k-NN");
        for (int ki = 0; ki < windows.length; ki++) {
            for (Map.Entry<String, List<List<QueryLoad.Result>>> e : results.entrySet()) {
                for (int c = 0; c < clients.length; c++) {
                    QueryLoad.Result r = e.getValue().get(ki).get(c);
                    System.out.printf(
                            Locale.ROOT,
                            "%-28s %5d %s %9.2f  %s%n",
                            e.getKey(),
                            windows[ki],
                            r.cells(),
                            r.p50() / plain.get(ki).get(c).p50(),
                            loads.get(e.getKey()).get(ki));
                }
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%nwhere the time goes: profile API, 1 client, %d queries, mean ms a query%n%-28s %5s %s%n",
                profiled,
                "engine",
                "k",
                PhaseBreakdown.Result.header());
        for (int i = 0; i < engines.size(); i++) {
            System.out.printf(
                    Locale.ROOT,
                    "%-28s %5d %s%n",
                    engines.get(i).name(),
                    engines.get(i).k(),
                    phases.get(i).cells());
        }
        System.out.printf(Locale.ROOT, "%n%-44s %14s %14s %7s%n", "", "plaintext", "encrypted", "ratio");
        if (plainLoad != null) {
            System.out.printf(
                    Locale.ROOT,
                    "%-44s %14.0f %14.0f %7.2f%n",
                    "ingest docs/s (bulk 500; refresh + merge)",
                    plainLoad.docsPerSecond(),
                    encLoad.docsPerSecond(),
                    encLoad.docsPerSecond() / plainLoad.docsPerSecond());
        }
        if (sealedLoad != null) {
            System.out.printf(
                    Locale.ROOT,
                    "%-44s %14s %14.0f%n",
                    "ingest docs/s, sealed records",
                    "",
                    sealedLoad.docsPerSecond());
        }
        long plainBytes = Indices.storeBytes(node, PLAIN_INDEX);
        long encBytes = Indices.storeBytes(node, ENCRYPTED_INDEX);
        System.out.printf(
                Locale.ROOT,
                "%-44s %14.1f %14.1f %7.2f%n",
                "index size on disk (MB)",
                plainBytes / 1e6,
                encBytes / 1e6,
                encBytes / (double) plainBytes);
        if (sealed) {
            long sealedBytes = Indices.storeBytes(node, SEALED_INDEX);
            System.out.printf(
                    Locale.ROOT,
                    "%-44s %14.1f %14.1f %7.2f%n",
                    "index size on disk, sealed records (MB)",
                    plainBytes / 1e6,
                    sealedBytes / 1e6,
                    sealedBytes / (double) plainBytes);
        }
        System.out.printf(Locale.ROOT, "load average at the end: %s%n", LoadAverage.read());
    }

    /** {@code --clients}: the numbers of concurrent clients to measure, default 1 and 8. */
    static int[] clients(Options a) {
        return integers(a.get("--clients", "1,8"));
    }

    private static int[] integers(String commaSeparated) {
        return Arrays.stream(commaSeparated.split(","))
                .mapToInt(Integer::parseInt)
                .toArray();
    }

    private static void record(
            String engine,
            Map<String, List<List<QueryLoad.Result>>> results,
            Map<String, List<String>> loads,
            List<QueryLoad.Result> measured) {
        results.computeIfAbsent(engine, e -> new ArrayList<>()).add(measured);
        loads.computeIfAbsent(engine, e -> new ArrayList<>()).add(LoadAverage.read());
    }

    /** One engine at one window: where its searches go and the body of query i. */
    private record Engine(String name, int k, String path, IntFunction<ObjectNode> body) {
        QueryLoad.Searcher searcher(OpenSearchHttp node) {
            return i -> GatewayIndices.hits(node.post(path, body.apply(i)));
        }
    }

    /** Warm-up, then one batch of all queries at each number of clients. */
    static List<QueryLoad.Result> measure(QueryLoad.Searcher searcher, ScaleWorkload w, int[] clients)
            throws Exception {
        QueryLoad.warmUp(searcher, WARM_UP, w.queries().length);
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
