package org.encryptedknn.ingest;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.opensearch.ingest.AbstractProcessor;
import org.opensearch.ingest.IngestDocument;

/**
 * An ingest processor that transforms the vector {@code field} and text fields of a document under the leased key
 * and the model {@code model_id}. It runs asynchronously only, since it may first load the model from the registry.
 * Every change is computed before the document is touched: a document that fails is rejected whole.
 */
abstract class GatewayIngestProcessor extends AbstractProcessor {

    private final String type;
    final NodeKeyHolder gateway;
    final String modelId;
    final String field;
    final boolean ignoreMissing;

    GatewayIngestProcessor(
            String type,
            String tag,
            String description,
            NodeKeyHolder gateway,
            String modelId,
            String field,
            boolean ignoreMissing) {
        super(tag, description);
        this.type = type;
        this.gateway = gateway;
        this.modelId = modelId;
        this.field = field;
        this.ignoreMissing = ignoreMissing;
    }

    @Override
    public final String getType() {
        return type;
    }

    @Override
    public final IngestDocument execute(IngestDocument document) {
        throw new UnsupportedOperationException(
                "[" + getType() + "] runs asynchronously (it may load the model from the registry)");
    }

    @Override
    public final void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
        IngestSupport.run(gateway, modelId, document, handler, this::process);
    }

    private void process(IngestDocument document, KeyLease lease, CachedModel model) {
        Map<String, Object> updates = new LinkedHashMap<>();
        Object value = document.getFieldValue(field, Object.class, true);
        if (value != null) {
            transformVector(document, value, model, updates);
        } else if (ignoreMissing == false) {
            throw new IllegalArgumentException("field [" + field + "] is missing or null" + missingFieldHint());
        }
        transformTextFields(document, lease, updates);
        // Nothing failed: now change the document.
        updates.forEach(document::setFieldValue);
    }

    /** Puts the new value of {@code field} (present, not null) into {@code updates}, if it changes. */
    abstract void transformVector(
            IngestDocument document, Object value, CachedModel model, Map<String, Object> updates);

    /** Puts the new values of the text fields into {@code updates}. */
    abstract void transformTextFields(IngestDocument document, KeyLease lease, Map<String, Object> updates);

    /** Appended to the error for a missing {@code field} when {@code ignore_missing} is false. */
    abstract String missingFieldHint();
}
