package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.function.IntFunction;
import org.encryptedknn.client.OpenSearchHttp;

/**
 * Where one engine's query time goes, from the profile API on one client (docs/performance.md): the shard's query
 * phase (rewrite, where the k-NN graph search runs, plus the query and the collectors) and fetch phase (the largest
 * shard's when there are several), the search's {@code took} (the search action on the coordinating node: both phases
 * and the reduce, but not the search pipeline's processors), and what the application waited in all. What the
 * application waited minus {@code took} is HTTP, JSON and the pipeline's processors; next to plaintext k-NN's it is
 * what {@code encrypted_knn_query} and {@code encrypted_knn_rerank} cost. Means over the queries, since {@code took}
 * comes in whole milliseconds, rounded down: its mean runs ≈ 0.5 ms below the time it stands for, for every engine
 * alike, so its differences between engines hold and its values do not.
 */
final class PhaseBreakdown {

    /** Mean milliseconds a query: as the application waited, {@code took}, the shard's query and fetch phases. */
    record Result(double application, double took, double query, double fetch) {

        static String header() {
            return String.format(
                    Locale.ROOT,
                    "%12s %8s %12s %12s %18s",
                    "application",
                    "took",
                    "shard query",
                    "shard fetch",
                    "application-took");
        }

        String cells() {
            return String.format(
                    Locale.ROOT,
                    "%12.2f %8.2f %12.2f %12.2f %18.2f",
                    application,
                    took,
                    query,
                    fetch,
                    application - took);
        }
    }

    private PhaseBreakdown() {}

    /** Sends queries 0..count-1 (bodies from {@code body}, with {@code "profile": true} added) to {@code path}. */
    static Result measure(OpenSearchHttp node, String path, IntFunction<ObjectNode> body, int count) {
        double application = 0;
        double took = 0;
        double query = 0;
        double fetch = 0;
        for (int i = 0; i < count; i++) {
            ObjectNode request = body.apply(i).put("profile", true);
            long start = System.nanoTime();
            JsonNode response = node.post(path, request);
            application += (System.nanoTime() - start) / 1e6;
            took += response.path("took").asDouble();
            double slowestQuery = 0;
            double slowestFetch = 0;
            for (JsonNode shard : response.path("profile").path("shards")) {
                JsonNode search = shard.path("searches").path(0);
                double q = search.path("rewrite_time").asDouble()
                        + sumNanos(search.path("query"))
                        + sumNanos(search.path("collector"));
                slowestQuery = Math.max(slowestQuery, q / 1e6);
                slowestFetch = Math.max(slowestFetch, sumNanos(shard.path("fetch")) / 1e6);
            }
            query += slowestQuery;
            fetch += slowestFetch;
        }
        return new Result(application / count, took / count, query / count, fetch / count);
    }

    /** The {@code time_in_nanos} of a profile node, or the sum of an array of them. */
    private static double sumNanos(JsonNode node) {
        if (node.isArray()) {
            double sum = 0;
            for (JsonNode n : node) {
                sum += n.path("time_in_nanos").asDouble();
            }
            return sum;
        }
        return node.path("time_in_nanos").asDouble();
    }
}
