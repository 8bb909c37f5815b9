package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.encryptedknn.client.ExactSearch;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.SearchMode;
import org.encryptedknn.transform.VectorTransform;

/**
 * The cluster run (scripts/cluster-bench.sh): a gateway node holding the key and two data nodes without it. The same
 * documents go through the gateway's ingest pipeline into a one-shard index and into one of two shards with one replica;
 * every search mode is measured on both (recall@10 against exact, latency, throughput). Then a bounded fail-over run:
 * one writer bulk-indexes new documents and two readers query through the pipelines while {@code --stop-command} stops
 * a data node (at a third of {@code --duration}) and {@code --restart-command} starts it again (at two thirds). Checks:
 * no acknowledged document is missing once the cluster is green again, every score any query returned equals the exact
 * cosine of the query and that document (within {@code --tolerance}), and recall after the recovery.
 *
 * <pre>java … org.encryptedknn.tools.bench.ClusterBench --url http://127.0.0.1:9451 [--vectors 20000] [--queries 200]
 *     [--reserve 5000] [--duration 90] [--stop-command CMD] [--restart-command CMD] [--k 100] [--clients 1,8]</pre>
 */
public final class ClusterBench {

    static final String ONE_SHARD = "cluster-one-shard";
    static final String TWO_SHARDS = "cluster-two-shards";
    static final int BATCH = 100;

    private ClusterBench() {}

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("ClusterBench", args);
        OpenSearchHttp node = new OpenSearchHttp(a.get("--url", "http://127.0.0.1:9451"));
        int k = a.integer("--k", 100);
        List<SearchMode> modes = ScaleBench.ALL_MODES;
        printText(node, "/_cat/nodes?v&h=name,node.role,cluster_manager,heap.max");
        System.out.printf(Locale.ROOT, "load average at start: %s%n", LoadAverage.read());

        ScaleWorkload w = ScaleWorkload.load(a, a.integer("--reserve", 5000));
        int n = w.vectors().length;
        GatewayIndices gateway = new GatewayIndices(node, "cluster");
        gateway.setUp(w.trainingSample(2000), modes);
        gateway.createEncrypted(ONE_SHARD, 1, 0);
        gateway.load(ONE_SHARD, w.vectors(), n);
        gateway.createEncrypted(TWO_SHARDS, 2, 1);
        gateway.load(TWO_SHARDS, w.vectors(), n);
        node.get("/_cluster/health?wait_for_status=green&timeout=300s");
        printText(node, "/_cat/shards/cluster-*?v&h=index,shard,prirep,state,docs,store,node");

        System.out.printf(
                Locale.ROOT, "%n%-28s %-20s %s  %s%n", "mode", "index", QueryLoad.Result.header(), "load avg");
        for (SearchMode mode : modes) {
            for (String index : List.of(ONE_SHARD, TWO_SHARDS)) {
                String path = "/" + index + "/_search?search_pipeline=" + gateway.searchPipeline(mode);
                List<QueryLoad.Result> results = ScaleBench.measure(
                        i -> GatewayIndices.hits(node.post(path, GatewayIndices.encryptedQuery(w.queries()[i], k))),
                        w,
                        ScaleBench.clients(a));
                for (QueryLoad.Result r : results) {
                    System.out.printf(
                            Locale.ROOT, "%-28s %-20s %s  %s%n", mode.wireName(), index, r.cells(), LoadAverage.read());
                }
            }
        }

        List<String> failures = new ArrayList<>();
        FailOver run = new FailOver(node, gateway, w, a);
        run.run(a.integer("--duration", 90), a.get("--stop-command", ""), a.get("--restart-command", ""));
        run.verify(failures);
        SearchBench.finish(failures);
    }

    private static void printText(OpenSearchHttp node, String path) {
        // _cat answers text; the JSON client reads it through format=json
        JsonNode rows = node.get(path + (path.contains("?") ? "&" : "?") + "format=json");
        for (JsonNode row : rows) {
            List<String> cells = new ArrayList<>();
            row.fields()
                    .forEachRemaining(
                            e -> cells.add(e.getKey() + "=" + e.getValue().asText()));
            System.out.println("  " + String.join(" ", cells));
        }
    }

    /** The fail-over phase on {@link #TWO_SHARDS} and its checks. */
    static final class FailOver {
        private final OpenSearchHttp node;
        private final GatewayIndices gateway;
        private final ScaleWorkload w;
        private final int k;
        private final double tolerance;
        private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        private final AtomicInteger attempted = new AtomicInteger();
        private final AtomicInteger bulkFailures = new AtomicInteger();
        private final AtomicInteger queries = new AtomicInteger();
        private final AtomicInteger queryErrors = new AtomicInteger();
        private final AtomicInteger partial = new AtomicInteger();
        private final AtomicInteger scoresChecked = new AtomicInteger();
        private final List<String> wrongScores = Collections.synchronizedList(new ArrayList<>());
        private final AtomicLong maxErrorBits = new AtomicLong(Double.doubleToLongBits(0));

        FailOver(OpenSearchHttp node, GatewayIndices gateway, ScaleWorkload w, Options a) {
            this.node = node;
            this.gateway = gateway;
            this.w = w;
            k = a.integer("--k", 100);
            tolerance = a.number("--tolerance", 1e-3); // scores are float32; ckks decrypts to about 1e-5
        }

        void run(int seconds, String stopCommand, String restartCommand) throws Exception {
            System.out.printf(
                    Locale.ROOT,
                    "%nfail-over run: %d s on %s, 1 writer (bulk %d) + 2 readers (the three modes in turn); stop at %d s: %s;"
                            + " restart at %d s: %s%n",
                    seconds,
                    TWO_SHARDS,
                    BATCH,
                    seconds / 3,
                    stopCommand.isEmpty() ? "(none)" : stopCommand,
                    2 * seconds / 3,
                    restartCommand.isEmpty() ? "(none)" : restartCommand);
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            // the writer spreads the reserve over the run: one bulk request every intervalMillis
            long intervalMillis = seconds * 1000L * BATCH / Math.max(BATCH, w.reserve().length);
            threads.add(Thread.ofPlatform().start(() -> write(stop, intervalMillis)));
            for (int r = 0; r < 2; r++) {
                int reader = r;
                threads.add(Thread.ofPlatform().start(() -> read(stop, reader)));
            }
            long start = System.nanoTime();
            sleepUntil(start, seconds / 3);
            command("stop", stopCommand);
            sleepUntil(start, 2 * seconds / 3);
            command("restart", restartCommand);
            sleepUntil(start, seconds);
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            System.out.printf(
                    Locale.ROOT,
                    "fail-over run done: %d documents sent, %d acknowledged, %d bulk requests failed; %d queries, %d failed,"
                            + " %d with shard failures; load average %s%n",
                    attempted.get(),
                    acknowledged.size(),
                    bulkFailures.get(),
                    queries.get(),
                    queryErrors.get(),
                    partial.get(),
                    LoadAverage.read());
        }

        private void write(AtomicBoolean stop, long intervalMillis) {
            int next = 0;
            long begin = System.nanoTime();
            for (int batch = 0; !stop.get() && next < w.reserve().length; batch++) {
                long due = begin + batch * intervalMillis * 1_000_000L - System.nanoTime();
                if (due > 0) {
                    try {
                        Thread.sleep(due / 1_000_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                int from = next;
                int to = Math.min(w.reserve().length, next + BATCH);
                next = to;
                StringBuilder ndjson = new StringBuilder();
                for (int j = from; j < to; j++) {
                    ndjson.append("{\"index\":{\"_index\":\"" + TWO_SHARDS + "\",\"_id\":\"r" + j + "\"}}\n");
                    ndjson.append(GatewayIndices.document(w.reserve()[j])).append('\n');
                }
                attempted.addAndGet(to - from);
                try {
                    JsonNode r = node.postNdjson("/_bulk", ndjson.toString());
                    for (JsonNode item : r.path("items")) {
                        JsonNode result = item.path("index");
                        int status = result.path("status").asInt();
                        if (status == 200 || status == 201) {
                            acknowledged.add(result.path("_id").asText());
                        }
                    }
                } catch (RuntimeException e) {
                    bulkFailures.incrementAndGet();
                }
            }
        }

        private void read(AtomicBoolean stop, int reader) {
            SplittableRandom random = new SplittableRandom(reader);
            List<SearchMode> modes = ScaleBench.ALL_MODES;
            for (int i = 0; !stop.get(); i++) {
                SearchMode mode = modes.get(i % modes.size());
                int q = random.nextInt(w.queries().length);
                queries.incrementAndGet();
                try {
                    JsonNode r = node.post(
                            "/" + TWO_SHARDS + "/_search?search_pipeline=" + gateway.searchPipeline(mode),
                            GatewayIndices.encryptedQuery(w.queries()[q], k));
                    if (r.path("_shards").path("failed").asInt() > 0) {
                        partial.incrementAndGet();
                    }
                    for (QueryLoad.Hit hit : GatewayIndices.hits(r)) {
                        double exact = VectorTransform.similarity(w.queries()[q], vector(hit.id()), Space.COSINE);
                        double error = Math.abs(exact - hit.score());
                        maxErrorBits.accumulateAndGet(
                                Double.doubleToLongBits(error),
                                (x, y) -> Double.longBitsToDouble(x) >= Double.longBitsToDouble(y) ? x : y);
                        scoresChecked.incrementAndGet();
                        if (error > tolerance) {
                            wrongScores.add(String.format(
                                    Locale.ROOT,
                                    "%s query %d doc %s: score %.6f, exact %.6f",
                                    mode.wireName(),
                                    q,
                                    hit.id(),
                                    hit.score(),
                                    exact));
                        }
                    }
                } catch (RuntimeException e) {
                    queryErrors.incrementAndGet();
                }
            }
        }

        private float[] vector(String id) {
            return id.startsWith("r")
                    ? w.reserve()[Integer.parseInt(id.substring(1))]
                    : w.vectors()[Integer.parseInt(id)];
        }

        void verify(List<String> failures) throws Exception {
            long t0 = System.nanoTime();
            node.get("/_cluster/health/" + TWO_SHARDS + "?wait_for_status=green&timeout=300s");
            System.out.printf(Locale.ROOT, "green again %.1f s after the run%n", SearchBench.seconds(t0));
            node.post("/" + TWO_SHARDS + "/_refresh", null);
            List<Integer> present = new ArrayList<>();
            int missing = 0;
            for (int from = 0; from < attempted.get(); from += 500) {
                ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
                ArrayNode ids = body.putArray("ids");
                for (int j = from; j < Math.min(attempted.get(), from + 500); j++) {
                    ids.add("r" + j);
                }
                for (JsonNode doc : node.post("/" + TWO_SHARDS + "/_mget?_source=false", body)
                        .path("docs")) {
                    String id = doc.path("_id").asText();
                    if (doc.path("found").asBoolean()) {
                        present.add(Integer.parseInt(id.substring(1)));
                    } else if (acknowledged.contains(id)) {
                        missing++;
                    }
                }
            }
            long count = node.get("/" + TWO_SHARDS + "/_count").path("count").asLong();
            System.out.printf(
                    Locale.ROOT,
                    "after recovery: %d documents (%d + %d written during the run; %d acknowledged, %d of them missing)%n",
                    count,
                    w.vectors().length,
                    present.size(),
                    acknowledged.size(),
                    missing);
            System.out.printf(
                    Locale.ROOT,
                    "scores checked against exact cosine: %d, largest difference %.2e, wrong (> tolerance): %d%n",
                    scoresChecked.get(),
                    Double.longBitsToDouble(maxErrorBits.get()),
                    wrongScores.size());
            wrongScores.stream().limit(5).forEach(s -> System.out.println("  " + s));
            if (missing > 0) {
                failures.add(missing + " acknowledged documents are missing after the fail-over");
            }
            if (count != w.vectors().length + present.size()) {
                failures.add(
                        "the index holds " + count + " documents, expected " + (w.vectors().length + present.size()));
            }
            if (!wrongScores.isEmpty()) {
                failures.add(wrongScores.size() + " hits had a score other than the exact cosine");
            }
            if (scoresChecked.get() == 0) {
                failures.add("no query answered during the fail-over run");
            }
            recallAfter(present);
        }

        /** Recall@10 of every mode on the recovered index, against exact over what it now holds. */
        private void recallAfter(List<Integer> present) throws Exception {
            float[][] docs = new float[w.vectors().length + present.size()][];
            String[] ids = new String[docs.length];
            for (int i = 0; i < w.vectors().length; i++) {
                docs[i] = w.vectors()[i];
                ids[i] = Integer.toString(i);
            }
            for (int j = 0; j < present.size(); j++) {
                docs[w.vectors().length + j] = w.reserve()[present.get(j)];
                ids[w.vectors().length + j] = "r" + present.get(j);
            }
            List<List<String>> truth = IntStream.range(0, w.queries().length)
                    .parallel()
                    .mapToObj(q -> IntStream.of(ExactSearch.topK(w.queries()[q], docs, ScaleWorkload.TOP, Space.COSINE))
                            .mapToObj(i -> ids[i])
                            .toList())
                    .toList();
            for (SearchMode mode :
                    List.of(SearchMode.KEY_HOLDER, SearchMode.CKKS, SearchMode.KEYED_LEAKS_QUERY_RESIDUALS)) {
                double recall = 0;
                for (int q = 0; q < w.queries().length; q++) {
                    List<QueryLoad.Hit> hits = GatewayIndices.hits(node.post(
                            "/" + TWO_SHARDS + "/_search?search_pipeline=" + gateway.searchPipeline(mode),
                            GatewayIndices.encryptedQuery(w.queries()[q], k)));
                    Set<String> top = new HashSet<>(truth.get(q));
                    recall += hits.stream()
                                    .limit(ScaleWorkload.TOP)
                                    .filter(h -> top.contains(h.id()))
                                    .count()
                            / (double) ScaleWorkload.TOP;
                }
                System.out.printf(
                        Locale.ROOT,
                        "after recovery, %s recall@10 on %s: %.3f%n",
                        mode.wireName(),
                        TWO_SHARDS,
                        recall / w.queries().length);
            }
        }

        private static void command(String what, String command) throws Exception {
            if (command.isEmpty()) {
                return;
            }
            System.out.printf(Locale.ROOT, "%s: %s (load average %s)%n", what, command, LoadAverage.read());
            Process p = new ProcessBuilder("bash", "-c", command).inheritIO().start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(what + " command did not finish within 300 s: " + command);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(what + " command failed (exit " + p.exitValue() + "): " + command);
            }
        }

        private static void sleepUntil(long startNanos, int second) throws InterruptedException {
            long wait = startNanos + second * 1_000_000_000L - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000);
            }
        }
    }
}
