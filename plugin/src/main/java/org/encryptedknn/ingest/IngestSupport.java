package org.encryptedknn.ingest;

import java.util.function.BiConsumer;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.opensearch.core.action.ActionListener;
import org.opensearch.ingest.IngestDocument;

/** Shared plumbing of the gateway ingest processors: lease the key, load the model, run, call back exactly once. */
final class IngestSupport {

    private IngestSupport() {}

    /** The work on one document, given the leased key and the model; it must not modify the document before it can no longer fail. */
    interface Work {
        void apply(IngestDocument document, KeyLease lease, CachedModel model) throws Exception;
    }

    static void run(
            NodeKeyHolder gateway,
            String modelId,
            IngestDocument document,
            BiConsumer<IngestDocument, Exception> handler,
            Work work) {
        KeyLease lease;
        try {
            lease = gateway.acquire();
        } catch (Exception e) {
            handler.accept(null, e);
            return;
        }
        gateway.model(lease, modelId, new ActionListener<>() {
            @Override
            public void onResponse(CachedModel model) {
                Exception failure = null;
                try {
                    work.apply(document, lease, model);
                } catch (Exception e) {
                    failure = e;
                } finally {
                    lease.close();
                }
                if (failure != null) {
                    handler.accept(null, failure);
                } else {
                    handler.accept(document, null);
                }
            }

            @Override
            public void onFailure(Exception e) {
                lease.close();
                handler.accept(null, e);
            }
        });
    }

    static String metadata(IngestDocument document, String key) {
        Object v = document.getSourceAndMetadata().get(key);
        return v == null ? null : v.toString();
    }
}
