package org.encryptedknn.search.pipeline;

import org.encryptedknn.keystore.NodeKeyHolder;
import org.opensearch.search.pipeline.AbstractProcessor;

/** A search pipeline processor that works under the gateway's leased key for the model {@code model_id}. */
abstract class GatewaySearchProcessor extends AbstractProcessor {

    private final String type;
    final NodeKeyHolder gateway;
    final String modelId;

    GatewaySearchProcessor(
            String type, String tag, String description, boolean ignoreFailure, NodeKeyHolder gateway, String modelId) {
        super(tag, description, ignoreFailure);
        this.type = type;
        this.gateway = gateway;
        this.modelId = modelId;
    }

    @Override
    public final String getType() {
        return type;
    }
}
