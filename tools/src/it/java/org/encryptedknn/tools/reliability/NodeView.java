package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.tools.bench.SearchBench;
import org.encryptedknn.tools.demo.Demo;

/**
 * What the data node itself sees of the search modes (docs/security.md, "What each search mode leaks"): one
 * gateway-mode node whose index has the search slow log at threshold 0 for the query phase, so that the node writes
 * the search source of every shard request it executes to its {@code *_index_search_slowlog.json}. After
 * {@code --queries} (10⁴) searches in the default mode ({@code key_holder}, the demo's search pipeline), the new lines
 * of that file are scanned: how many shard requests carry a rescore, residual cells (H_c r_q), a plaintext
 * {@code vector} key, or plaintext vector values (two consecutive components of any query vector, as float32
 * text), and how many carry the encrypted prefix query. Two controls: {@code --control-queries} searches in the opt-in
 * {@code keyed_leaks_query_residuals} mode (every shard request must show its cells), and one request sent without
 * the pipeline with the first d_pub plaintext components as its "encrypted" vector (a data node cannot tell: the scan
 * must find it). Exits 1 if a check fails.
 *
 * <pre>java … org.encryptedknn.tools.reliability.NodeView --url http://127.0.0.1:9462 --slowlog FILE
 *     [--docs 2000] [--queries 10000] [--control-queries 1000] [--threads 4] [--k 10]</pre>
 */
public final class NodeView {

    static final String INDEX = "view-mail";
    static final String KEYED_PIPELINE = "view-keyed";
    /** Leading components per query vector whose consecutive pairs the plaintext scan looks for. */
    static final int SCANNED_COMPONENTS = 64;

    private static final Pattern NUMBER = Pattern.compile("-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?");

    /** What the slow log shows of one run's shard requests (query phase, this index). */
    record Tally(long requests, long rescore, long cells, long plainVectorKey, long plainValues, long encryptedVector) {
        String line(String run) {
            return String.format(
                    Locale.ROOT,
                    "%-40s %9d %8d %8d %10d %10d %10d",
                    run,
                    requests,
                    rescore,
                    cells,
                    plainVectorKey,
                    plainValues,
                    encryptedVector);
        }
    }

    private final GatewayScenario scenario;
    private final Path slowlog;
    private final float[][] queryVectors;
    private final Set<Long> plaintextPairs = new HashSet<>();

    private NodeView(GatewayScenario scenario, Path slowlog) {
        this.scenario = scenario;
        this.slowlog = slowlog;
        // every vector of the corpus serves as a query (held-out ones first), cycled
        List<float[]> all = new ArrayList<>(List.of(scenario.queries.vectors()));
        all.addAll(List.of(scenario.docs.vectors()));
        this.queryVectors = all.toArray(new float[0][]);
        for (float[] q : queryVectors) {
            for (int i = 0; i + 1 < Math.min(SCANNED_COMPONENTS, q.length); i++) {
                plaintextPairs.add(pair(q[i], q[i + 1]));
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("NodeView", args);
        Path slowlog = Path.of(a.get("--slowlog", ""));
        int queries = a.integer("--queries", 10_000);
        int controlQueries = a.integer("--control-queries", 1000);
        int threads = a.integer("--threads", 4);
        int k = a.integer("--k", 10);
        NodeView run = new NodeView(GatewayScenario.fromArgs(a, 9462, 2000, 500), slowlog);
        SearchBench.finish(run.execute(queries, controlQueries, threads, k));
    }

    private List<String> execute(int queries, int controlQueries, int threads, int k) throws Exception {
        List<String> failures = new ArrayList<>();
        OpenSearchHttp node = scenario.node;
        scenario.createIndex(INDEX, "1s");
        scenario.loadAll(INDEX);
        ObjectNode keyed = OpenSearchHttp.JSON.createObjectNode();
        keyed.putArray("request_processors")
                .addObject()
                .putObject("encrypted_knn_query")
                .put("model_id", Demo.MODEL_ID)
                .put("probe_cells", 8)
                .put("mode", "keyed_leaks_query_residuals");
        keyed.putArray("response_processors")
                .addObject()
                .putObject("encrypted_knn_rerank")
                .put("model_id", Demo.MODEL_ID)
                .put("remove_vector", true);
        node.put("/_search/pipeline/" + KEYED_PIPELINE, keyed);
        ObjectNode slow = OpenSearchHttp.JSON.createObjectNode();
        slow.put("index.search.slowlog.threshold.query.trace", "0ms");
        node.put("/" + INDEX + "/_settings", slow);
        System.out.printf(
                Locale.ROOT,
                "%s: search slow log at threshold 0 (query phase) -> %s%n%n%-40s %9s %8s %8s %10s %10s %10s%n",
                INDEX,
                slowlog,
                "run",
                "requests",
                "rescore",
                "cells",
                "\"vector\"",
                "plain vals",
                "encrypted");

        Tally def = run("default mode (key_holder)", Demo.SEARCH_PIPELINE, queries, threads, k, failures);
        check(
                def.requests() == queries,
                "default: " + def.requests() + " shard requests logged for " + queries,
                failures);
        check(
                def.rescore() + def.cells() + def.plainVectorKey() + def.plainValues() == 0,
                "default: residual query material or plaintext in shard requests: " + def,
                failures);
        check(
                def.encryptedVector() == def.requests(),
                "default: requests without the encrypted prefix query",
                failures);

        Tally control =
                run("control: keyed_leaks_query_residuals", KEYED_PIPELINE, controlQueries, threads, k, failures);
        check(
                control.requests() == controlQueries && control.cells() == controlQueries,
                "keyed control: expected " + controlQueries + " requests with cells: " + control,
                failures);

        // the scan finds plaintext when it is there: one request carrying plaintext components as its "encrypted"
        // prefix
        long offset = size();
        int width = GatewayScenario.prefixWidth(scenario.model());
        float[] plain = Arrays.copyOf(queryVectors[0], width);
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        ObjectNode params = body.putObject("query").putObject("encrypted_knn").putObject(Demo.FIELD);
        params.set("encrypted_vector", Indices.floats(plain));
        params.put("k", k);
        node.post("/" + INDEX + "/_search", body);
        Tally positive = tally(offset);
        System.out.println(positive.line("control: plaintext sent as p_q"));
        check(positive.plainValues() == 1, "the scan did not find the plaintext control: " + positive, failures);
        return failures;
    }

    private Tally run(String name, String pipeline, int n, int threads, int k, List<String> failures) throws Exception {
        long offset = size();
        AtomicLong errors = new AtomicLong();
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        for (int i = 0; i < n; i++) {
            float[] q = queryVectors[i % queryVectors.length];
            pool.execute(() -> {
                try {
                    Demo.encryptedSearch(scenario.node, INDEX, q, k, k, pipeline);
                } catch (RuntimeException e) {
                    if (errors.incrementAndGet() <= 3) {
                        System.out.println("  " + name + ": " + e.getMessage());
                    }
                }
            });
        }
        pool.shutdown();
        if (!pool.awaitTermination(1, TimeUnit.HOURS)) {
            throw new IllegalStateException(name + ": queries still running after an hour");
        }
        double seconds = SearchBench.seconds(start);
        check(errors.get() == 0, name + ": " + errors.get() + " failed requests", failures);
        Tally t = tally(offset);
        System.out.println(t.line(name) + String.format(Locale.ROOT, "   (%d queries, %.0f/s)", n, n / seconds));
        return t;
    }

    /** The slow log's size now; it is appended to, one JSON object per line. */
    private long size() throws IOException {
        return Files.exists(slowlog) ? Files.size(slowlog) : 0;
    }

    /** Scans the slow-log lines written after {@code offset} (waits until no new line arrives for a second). */
    private Tally tally(long offset) throws IOException, InterruptedException {
        long last = -1;
        while (size() != last) {
            last = size();
            Thread.sleep(1000);
        }
        byte[] bytes;
        try (RandomAccessFile f = new RandomAccessFile(slowlog.toFile(), "r")) {
            bytes = new byte[(int) (f.length() - offset)];
            f.seek(offset);
            f.readFully(bytes);
        }
        long requests = 0, rescore = 0, cells = 0, vectorKey = 0, plainValues = 0, encrypted = 0;
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode entry = OpenSearchHttp.JSON.readTree(line);
            if (!entry.path("message").asText().contains("[" + INDEX + "]")) {
                continue;
            }
            String source = entry.path("source").asText();
            requests++;
            rescore += source.contains("\"rescore\"") ? 1 : 0;
            cells += source.contains("\"cells\"") ? 1 : 0;
            vectorKey += source.contains("\"vector\"") ? 1 : 0;
            plainValues += holdsPlaintext(source) ? 1 : 0;
            encrypted += source.contains("\"encrypted_vector\"") ? 1 : 0;
        }
        return new Tally(requests, rescore, cells, vectorKey, plainValues, encrypted);
    }

    /** True if two consecutive numbers of the source are two consecutive components of a query vector. */
    private boolean holdsPlaintext(String source) {
        Matcher m = NUMBER.matcher(source);
        float previous = Float.NaN;
        while (m.find()) {
            float f = Float.parseFloat(m.group());
            if (plaintextPairs.contains(pair(previous, f))) {
                return true;
            }
            previous = f;
        }
        return false;
    }

    private static long pair(float a, float b) {
        return ((long) Float.floatToRawIntBits(a) << 32) | (Float.floatToRawIntBits(b) & 0xffffffffL);
    }

    private static void check(boolean ok, String failure, List<String> failures) {
        if (!ok) {
            failures.add(failure);
        }
    }
}
