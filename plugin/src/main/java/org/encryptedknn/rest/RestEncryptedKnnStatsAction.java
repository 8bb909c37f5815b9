package org.encryptedknn.rest;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.encryptedknn.stats.PluginStats;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.cluster.node.DiscoveryNodes;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestRequest;
import org.opensearch.transport.client.node.NodeClient;

/**
 * {@code GET _plugins/encrypted_knn/stats}: the counters of the node that receives the request (not a cluster-wide
 * fan-out). The response has the shape of a nodes response with one node, so a later transport nodes action can
 * fill in every node without changing clients:
 * <pre>{"_nodes":{"total":1,"successful":1,"failed":0},"scope":"local_node",
 *  "nodes":{"&lt;node id&gt;":{"name":"…","documents_parsed":…,"parse_rejections":…,"queries":…,"query_rejections":…,
 *  "rescore_requests":…,"rescored_hits":…,"rescored_hits_unprobed_cell":…,"ckks_batches":0,"native_memory_in_use_bytes":0}}}</pre>
 */
public final class RestEncryptedKnnStatsAction extends BaseRestHandler {

    public static final String PATH = "/_plugins/encrypted_knn/stats";

    private final Supplier<DiscoveryNodes> nodes;

    public RestEncryptedKnnStatsAction(Supplier<DiscoveryNodes> nodes) {
        this.nodes = nodes;
    }

    @Override
    public String getName() {
        return "encrypted_knn_stats_action";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(RestRequest.Method.GET, PATH));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
        return channel -> {
            XContentBuilder builder = channel.newBuilder();
            toXContent(builder, localNode());
            channel.sendResponse(new BytesRestResponse(RestStatus.OK, builder));
        };
    }

    private DiscoveryNode localNode() {
        DiscoveryNodes discoveryNodes = nodes == null ? null : nodes.get();
        return discoveryNodes == null ? null : discoveryNodes.getLocalNode();
    }

    static void toXContent(XContentBuilder builder, DiscoveryNode node) throws IOException {
        builder.startObject();
        builder.startObject("_nodes")
                .field("total", 1)
                .field("successful", 1)
                .field("failed", 0)
                .endObject();
        builder.field("scope", "local_node");
        builder.startObject("nodes");
        builder.startObject(node == null ? "_local" : node.getId());
        if (node != null) {
            builder.field("name", node.getName());
        }
        for (Map.Entry<String, Long> e : PluginStats.snapshot().entrySet()) {
            builder.field(e.getKey(), e.getValue().longValue());
        }
        builder.endObject();
        builder.endObject();
        builder.endObject();
    }
}
