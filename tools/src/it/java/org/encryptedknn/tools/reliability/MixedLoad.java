package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.encryptedknn.client.CkksSearch;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.tools.bench.SearchBench;
import org.encryptedknn.transform.VectorTransform;

/**
 * Mixed load in client mode against one node that holds no key (docs/reliability.md): {@code --clients} concurrent
 * clients for {@code --seconds} (default 300), {@code --writers} of them bulk-loading documents they encrypt
 * themselves ({@code --batch} per request; first the half of the corpus not loaded yet, then overwriting from the
 * start), the others running ckks-mode searches ({@link CkksSearch}, with the follow-up round for unprobed hits). The
 * master key and the CKKS secret key are generated in this process and never leave it.
 *
 * <p>Checks: zero errors (any non-2xx, refused bulk item or exception); every exact hit of the top 10 carries the
 * document's true cosine within 1e-4; native memory in use on the node ({@code GET _plugins/encrypted_knn/stats},
 * sampled every {@code --sample-seconds}) flat: the second half's maximum at most {@value #FLAT_TOLERANCE} bytes
 * above the first half's, and after the load (and {@code --settle-seconds}) not above the load's maximum. Prints
 * throughput, p50/p95/p99 per operation, the native-memory and heap samples and, with {@code --pid}, the node's RSS.
 * Exits 1 if a check fails.
 *
 * <pre>java … org.encryptedknn.tools.reliability.MixedLoad [--url http://127.0.0.1:9461] [--docs 0=all] [--queries 200]
 *     [--clients 8] [--writers 2] [--seconds 300] [--batch 50] [--k 100] [--cells 64] [--probe 8]
 *     [--sample-seconds 5] [--settle-seconds 15] [--pid NODE_PID]</pre>
 */
public final class MixedLoad {

    static final String FIELD = SearchBench.FIELD;
    static final String INDEX = SearchBench.ENCRYPTED_INDEX;
    static final int TOP = SearchBench.TOP;
    static final long FLAT_TOLERANCE = 1 << 20;

    /** One sample of the node: seconds since the load started, native bytes in use, JVM heap used, RSS (−1: unknown). */
    record Sample(double t, long nativeBytes, long heapBytes, long rssBytes) {}

    private final OpenSearchHttp node;
    private final VectorTransform transform;
    private final CkksKeyHolder keyHolder;
    private final float[][] docs;
    private final float[][] queries;
    private final int k;
    private final int probe;
    private final long pid;
    private volatile boolean stop;
    private final List<Double> searchMs = new ArrayList<>();
    private final List<Double> bulkMs = new ArrayList<>();
    private final AtomicLong documents = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong wrongScores = new AtomicLong();
    private final AtomicLong followUps = new AtomicLong();
    private final List<String> examples = new ArrayList<>();

    private MixedLoad(
            OpenSearchHttp node,
            VectorTransform transform,
            CkksKeyHolder keyHolder,
            float[][] docs,
            float[][] queries,
            int k,
            int probe,
            long pid) {
        this.node = node;
        this.transform = transform;
        this.keyHolder = keyHolder;
        this.docs = docs;
        this.queries = queries;
        this.k = k;
        this.probe = probe;
        this.pid = pid;
    }

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("MixedLoad", args);
        String url = a.get("--url", "http://127.0.0.1:9461");
        int clients = a.integer("--clients", 8);
        int writers = a.integer("--writers", 2);
        int seconds = a.integer("--seconds", 300);
        int batch = a.integer("--batch", 50);
        int k = a.integer("--k", 100);
        int cells = a.integer("--cells", 64);
        int probe = a.integer("--probe", 8);
        int sampleSeconds = a.integer("--sample-seconds", 5);
        int settleSeconds = a.integer("--settle-seconds", 15);
        long pid = Long.parseLong(a.get("--pid", "-1"));
        if (writers < 1 || writers >= clients) {
            throw new IllegalArgumentException("--writers must be in [1, --clients - 1]");
        }

        SearchBench.Workload w = SearchBench.Workload.load(a);
        float[][] docs = w.vectors();
        int d = w.dimension();
        ModelParameters params = new ModelParameters(d, Space.COSINE, d / 4, cells, ModelParameters.DEFAULT_BETA, 1);
        List<String> failures;
        try (MasterKey master = MasterKey.generate();
                KeyDerivation keys = new KeyDerivation(master)) {
            EncryptionModel model =
                    ModelFitter.fit("loadbench", params, Arrays.copyOf(docs, Math.min(2000, docs.length)));
            try (VectorTransform transform = new VectorTransform(model, keys);
                    CkksContext ctx = CkksContext.create(CkksParameters.forResidualLength(model.residualLength()));
                    CkksSecretKey sk = CkksSecretKey.generate(ctx);
                    CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
                transform.warmUp();
                OpenSearchHttp node = new OpenSearchHttp(url);
                SearchBench.indexEncrypted(node, transform, Arrays.copyOf(docs, docs.length / 2));
                node.put(
                        "/" + INDEX + "/_settings",
                        OpenSearchHttp.JSON.createObjectNode().put("index.refresh_interval", "1s"));
                MixedLoad load = new MixedLoad(node, transform, kh, docs, w.queries(), k, probe, pid);
                failures = load.run(clients, writers, seconds, batch, sampleSeconds, settleSeconds);
            }
        }
        SearchBench.finish(failures);
    }

    private List<String> run(int clients, int writers, int seconds, int batch, int sampleSeconds, int settleSeconds)
            throws InterruptedException {
        // warm-up, single client: the node's SEAL pool reaches its one-query size before the first sample
        for (int q = 0; q < Math.min(10, queries.length); q++) {
            search(q);
        }
        followUps.set(0);
        Sample idle = sample(0);
        List<Sample> samples = new ArrayList<>();
        AtomicInteger nextQuery = new AtomicInteger();
        AtomicInteger nextDoc = new AtomicInteger(docs.length / 2);
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            boolean writer = c < writers;
            Thread t = new Thread(
                    () -> {
                        while (!stop) {
                            if (writer) {
                                timed(bulkMs, () -> bulk(nextDoc, batch));
                            } else {
                                timed(
                                        searchMs,
                                        () -> search(Math.floorMod(nextQuery.getAndIncrement(), queries.length)));
                            }
                        }
                    },
                    (writer ? "bulk-" : "ckks-search-") + c);
            t.start();
            threads.add(t);
        }
        long end = start + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            Thread.sleep(Math.min(sampleSeconds * 1000L, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            samples.add(sample(SearchBench.seconds(start)));
        }
        stop = true;
        for (Thread t : threads) {
            t.join();
        }
        double elapsed = SearchBench.seconds(start);
        Thread.sleep(settleSeconds * 1000L);
        Sample after = sample(SearchBench.seconds(start));
        return report(clients, writers, elapsed, idle, samples, after, settleSeconds);
    }

    private List<String> report(
            int clients, int writers, double elapsed, Sample idle, List<Sample> samples, Sample after, int settle) {
        List<String> failures = new ArrayList<>();
        System.out.printf(
                Locale.ROOT,
                "%n== %d clients (%d bulk, %d ckks search) for %.1f s against %s ==%n",
                clients,
                writers,
                clients - writers,
                elapsed,
                INDEX);
        System.out.printf(
                Locale.ROOT,
                "ckks searches: %d (%.1f queries/s), %d with a follow-up round; bulk: %d requests, %d documents (%.1f docs/s)%n",
                searchMs.size(),
                searchMs.size() / elapsed,
                followUps.get(),
                bulkMs.size(),
                documents.get(),
                documents.get() / elapsed);
        System.out.printf(
                Locale.ROOT,
                "errors: %d; top-10 scores off the true cosine by > 1e-4: %d%n",
                errors.get(),
                wrongScores.get());
        examples.forEach(e -> System.out.println("  e.g. " + e));
        System.out.printf(Locale.ROOT, "%-28s %9s %9s %9s%n", "latency, ms", "p50", "p95", "p99");
        latencyRow("ckks search (end to end)", searchMs);
        latencyRow(
                "bulk (" + (bulkMs.isEmpty() ? 0 : documents.get() / bulkMs.size()) + " docs, encrypt+send)", bulkMs);

        System.out.printf(Locale.ROOT, "%n%8s %14s %12s %12s%n", "t, s", "native bytes", "heap MB", "RSS MB");
        printSample("idle", idle);
        samples.forEach(s -> printSample(String.format(Locale.ROOT, "%.0f", s.t()), s));
        printSample("+" + settle + " s", after);
        long first = samples.get(0).nativeBytes();
        long last = samples.get(samples.size() - 1).nativeBytes();
        long max = samples.stream().mapToLong(Sample::nativeBytes).max().orElseThrow();
        int half = samples.size() / 2;
        long firstHalfMax = samples.subList(0, half).stream()
                .mapToLong(Sample::nativeBytes)
                .max()
                .orElse(first);
        long secondHalfMax = samples.subList(half, samples.size()).stream()
                .mapToLong(Sample::nativeBytes)
                .max()
                .orElseThrow();
        System.out.printf(
                Locale.ROOT,
                "native memory in use: idle %d, first %d, last %d, max %d (first half %d, second half %d), after %d bytes%n",
                idle.nativeBytes(),
                first,
                last,
                max,
                firstHalfMax,
                secondHalfMax,
                after.nativeBytes());
        if (pid > 0) {
            System.out.printf(
                    Locale.ROOT,
                    "node RSS: idle %.0f MB, max during load %.0f MB, after %.0f MB%n",
                    idle.rssBytes() / 1e6,
                    samples.stream().mapToLong(Sample::rssBytes).max().orElseThrow() / 1e6,
                    after.rssBytes() / 1e6);
        }

        if (errors.get() > 0) {
            failures.add(errors.get() + " errors");
        }
        if (wrongScores.get() > 0) {
            failures.add(wrongScores.get() + " searches with a top-10 score off the true cosine");
        }
        if (searchMs.isEmpty() || documents.get() == 0) {
            failures.add("no search or no document completed");
        }
        if (secondHalfMax > firstHalfMax + FLAT_TOLERANCE) {
            failures.add("native memory grew during the load: first-half max " + firstHalfMax + ", second-half max "
                    + secondHalfMax);
        }
        if (after.nativeBytes() > max) {
            failures.add("native memory after the load " + after.nativeBytes() + " above the load's maximum " + max);
        }
        return failures;
    }

    private void timed(List<Double> into, Runnable op) {
        long t = System.nanoTime();
        try {
            op.run();
        } catch (RuntimeException e) {
            errors.incrementAndGet();
            note(e.getMessage());
            return;
        }
        double ms = (System.nanoTime() - t) / 1e6;
        synchronized (into) {
            into.add(ms);
        }
    }

    private synchronized void note(String problem) {
        if (examples.size() < 10) {
            examples.add(problem.length() > 300 ? problem.substring(0, 300) + "…" : problem);
        }
    }

    /** Encrypts and bulk-loads the next {@code batch} documents (ids cycle over the corpus: later rounds overwrite). */
    private void bulk(AtomicInteger next, int batch) {
        StringBuilder ndjson = new StringBuilder();
        for (int j = 0; j < batch; j++) {
            int i = Math.floorMod(next.getAndIncrement(), docs.length);
            String id = Integer.toString(i);
            ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
            doc.set(FIELD, EncryptedSearch.recordJson(transform.encryptDocument(docs[i], id, FIELD)));
            ndjson.append("{\"index\":{\"_index\":\"")
                    .append(INDEX)
                    .append("\",\"_id\":\"")
                    .append(id)
                    .append("\"}}\n");
            ndjson.append(doc).append('\n');
        }
        JsonNode r = node.postNdjson("/_bulk", ndjson.toString());
        if (r.path("errors").asBoolean()) {
            throw new IllegalStateException(
                    "bulk refused items: " + r.path("items").toString());
        }
        documents.addAndGet(batch);
    }

    /** One ckks-mode search, with the follow-up round when an unprobed hit could reach the top 10. */
    private void search(int q) {
        EncryptedSearch base = new EncryptedSearch(transform, FIELD, queries[q]);
        base.withCells(transform.probeCells(base.query(), probe));
        CkksSearch ckks = new CkksSearch(base, keyHolder);
        List<CkksSearch.Hit> ranking = ckks.ranking(
                node.postCbor("/" + INDEX + "/_search", ckks.body(k, k, k).put("_source", false)));
        ObjectNode followUp = ckks.followUpBody(ranking, TOP);
        if (followUp != null) {
            followUps.incrementAndGet();
            ranking = ckks.merge(ranking, node.post("/" + INDEX + "/_search", followUp));
        }
        for (CkksSearch.Hit h : ranking.subList(0, Math.min(TOP, ranking.size()))) {
            double truth = VectorTransform.similarity(queries[q], docs[Integer.parseInt(h.id())], Space.COSINE);
            if (h.exact() && Math.abs(truth - h.score()) > 1e-4) {
                wrongScores.incrementAndGet();
                note(String.format(
                        Locale.ROOT, "query %d: doc %s score %.6f, true cosine %.6f", q, h.id(), h.score(), truth));
                return;
            }
        }
    }

    private Sample sample(double t) {
        JsonNode stats = node.get("/_plugins/encrypted_knn/stats")
                .path("nodes")
                .elements()
                .next();
        JsonNode jvm =
                node.get("/_nodes/_local/stats/jvm").path("nodes").elements().next();
        return new Sample(
                t,
                stats.path("native_memory_in_use_bytes").asLong(),
                jvm.path("jvm").path("mem").path("heap_used_in_bytes").asLong(),
                rss());
    }

    /** VmRSS of the node process from /proc (same machine), −1 without {@code --pid}. */
    private long rss() {
        if (pid <= 0) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the RSS of pid " + pid + ": " + e.getMessage(), e);
        }
        throw new IllegalStateException("no VmRSS in /proc/" + pid + "/status");
    }

    private static void printSample(String label, Sample s) {
        System.out.printf(
                Locale.ROOT,
                "%8s %14d %12.0f %12s%n",
                label,
                s.nativeBytes(),
                s.heapBytes() / 1e6,
                s.rssBytes() < 0 ? "-" : String.format(Locale.ROOT, "%.0f", s.rssBytes() / 1e6));
    }

    private static void latencyRow(String name, List<Double> ms) {
        double[] v = ms.stream().mapToDouble(Double::doubleValue).toArray();
        if (v.length == 0) {
            System.out.printf(Locale.ROOT, "%-28s %9s%n", name, "-");
            return;
        }
        System.out.printf(
                Locale.ROOT,
                "%-28s %9.1f %9.1f %9.1f%n",
                name,
                SearchBench.percentile(v, 50),
                SearchBench.percentile(v, 95),
                SearchBench.percentile(v, 99));
    }
}
