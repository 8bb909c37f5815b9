package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.encryptedknn.client.OpenSearchHttp;

/**
 * Memory as the nodes report it ({@code _nodes/stats}): heap used and maximum, non-heap, direct buffers, and the
 * mapped index files (off-heap: Lucene reads the HNSW graph, the vectors and the doc values through mmap, so they live
 * in the page cache, not in the heap); and, per index, its files by kind ({@code _stats/segments}), which says what a
 * search keeps hot: {@code vec}/{@code vex} the vectors and the HNSW graph, {@code dvd} the doc values (the residuals of
 * the encrypted index), {@code fdt} the stored {@code _source}.
 */
public final class NodeMemory {

    private NodeMemory() {}

    public static void print(OpenSearchHttp node, String when, List<String> indices) {
        System.out.printf(Locale.ROOT, "memory %s (load average %s):%n", when, LoadAverage.read());
        JsonNode nodes = node.get("/_nodes/stats/jvm").path("nodes");
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) nodes::fields) {
            JsonNode jvm = e.getValue().path("jvm");
            JsonNode mem = jvm.path("mem");
            JsonNode pools = jvm.path("buffer_pools");
            System.out.printf(
                    Locale.ROOT,
                    "  node %-10s heap used %7.1f MB of %7.1f MB, non-heap %6.1f MB, direct %6.1f MB, mapped files %8.1f MB%n",
                    e.getValue().path("name").asText(),
                    mb(mem.path("heap_used_in_bytes")),
                    mb(mem.path("heap_max_in_bytes")),
                    mb(mem.path("non_heap_used_in_bytes")),
                    mb(pools.path("direct").path("used_in_bytes")),
                    mb(pools.path("mapped").path("total_capacity_in_bytes")));
        }
        for (String index : indices) {
            JsonNode files = node.get("/" + index + "/_stats/segments?include_segment_file_sizes=true")
                    .path("indices")
                    .path(index)
                    .path("primaries")
                    .path("segments")
                    .path("file_sizes");
            List<String> parts = new ArrayList<>();
            for (Map.Entry<String, JsonNode> f : (Iterable<Map.Entry<String, JsonNode>>) files::fields) {
                double size = mb(f.getValue().path("size_in_bytes"));
                if (size >= 0.1) {
                    parts.add(String.format(Locale.ROOT, "%s %.1f", f.getKey(), size));
                }
            }
            System.out.printf(
                    Locale.ROOT, "  index %-22s files (MB, primaries): %s%n", index, String.join(", ", parts));
        }
    }

    private static double mb(JsonNode bytes) {
        return bytes.asLong() / 1e6;
    }
}
