package org.encryptedknn.tools.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a batch of queries from a number of concurrent clients and measures latency percentiles, throughput and
 * recall@10 against the exact top 10. Each client takes the next query of the batch until all are sent.
 */
public final class QueryLoad {

    /** One hit of an answer. */
    public record Hit(String id, double score) {}

    /** Sends query {@code i} and returns its hits, best first. */
    @FunctionalInterface
    public interface Searcher {
        List<Hit> search(int query) throws Exception;
    }

    /** What a batch measured; {@code errors}: queries that failed (their latency is not counted). */
    public record Result(
            int clients, int queries, int errors, double recall, double p50, double p95, double p99, double qps) {

        /** The column titles of {@link #cells()}. */
        public static String header() {
            return String.format(
                    Locale.ROOT, "%7s %8s %8s %8s %8s %9s", "clients", "recall", "p50 ms", "p95 ms", "p99 ms", "q/s");
        }

        /** The figures as table cells, under {@link #header()}; failed queries said at the end. */
        public String cells() {
            return String.format(Locale.ROOT, "%7d %8.3f %8.2f %8.2f %8.2f %9.1f", clients, recall, p50, p95, p99, qps)
                    + (errors > 0 ? " (" + errors + " failed)" : "");
        }
    }

    private QueryLoad() {}

    /** Sends {@code count} queries unmeasured, cycling through queries 0..distinct-1 (JIT, caches, graph pages). */
    public static void warmUp(Searcher searcher, int count, int distinct) throws Exception {
        for (int i = 0; i < count; i++) {
            searcher.search(i % distinct);
        }
    }

    /** {@code total} queries (query i % truth.length) from {@code clients} clients. */
    public static Result run(int clients, int total, Searcher searcher, int[][] truth) throws Exception {
        double[] latency = new double[total];
        double[] recall = new double[total];
        boolean[] failed = new boolean[total];
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long start = System.nanoTime();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                futures.add(pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                        int q = i % truth.length;
                        long t0 = System.nanoTime();
                        try {
                            List<Hit> hits = searcher.search(q);
                            latency[i] = (System.nanoTime() - t0) / 1e6;
                            recall[i] = recall(hits, truth[q]);
                        } catch (Exception e) {
                            failed[i] = true;
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] ok = new double[total];
        int answered = 0;
        double recallSum = 0;
        for (int i = 0; i < total; i++) {
            if (!failed[i]) {
                ok[answered++] = latency[i];
                recallSum += recall[i];
            }
        }
        if (answered == 0) {
            return new Result(clients, total, total, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
        }
        ok = Arrays.copyOf(ok, answered);
        return new Result(
                clients,
                total,
                total - answered,
                recallSum / answered,
                SearchBench.percentile(ok, 50),
                SearchBench.percentile(ok, 95),
                SearchBench.percentile(ok, 99),
                answered / seconds);
    }

    /** Share of the exact top 10 among the first 10 hits. */
    public static double recall(List<Hit> hits, int[] truth) {
        Set<String> top = new HashSet<>();
        for (int i = 0; i < Math.min(ScaleWorkload.TOP, hits.size()); i++) {
            top.add(hits.get(i).id());
        }
        int found = 0;
        for (int t : truth) {
            if (top.contains(Integer.toString(t))) {
                found++;
            }
        }
        return found / (double) truth.length;
    }
}
