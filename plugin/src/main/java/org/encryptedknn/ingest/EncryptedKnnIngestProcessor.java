package org.encryptedknn.ingest;

import java.util.Map;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.keystore.ProcessorConfig;
import org.encryptedknn.keystore.Records;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.Processor;

/**
 * Ingest processor {@code encrypted_knn}:
 * {@code {"model_id":"m1","field":"embedding","encrypt_fields":["body"],"deterministic_fields":["sender"],"ignore_missing":false}}.
 *
 * <ul>
 *   <li>{@code field}: the plaintext vector (an array of {@code dimension} numbers) is replaced by the encrypted object
 *       {@code {p,n,c,z,e}} under the model's current epoch. SAP nonce = PRF(_id, field, epoch) when the request
 *       carries an {@code _id}; for auto-generated ids (not known yet while the pipeline runs) PRF(field, epoch, vector),
 *       which makes two documents with the same vector encrypt identically (it reveals exact duplicates). A value that
 *       is already an encrypted object passes unchanged (re-indexing encrypted documents).</li>
 *   <li>{@code encrypt_fields}: strings (or arrays of strings) become AES-256-GCM ciphertexts {@code ekr1:…} with
 *       associated data = the field name and the concrete index name the document is written to (the write index when
 *       the request names an alias or data stream). Not the {@code _id}: it does not exist yet for auto-generated ids.</li>
 *   <li>{@code deterministic_fields}: AES-SIV {@code ekd1:…}; equal values give equal ciphertexts, so term filters
 *       still match (through the {@code encrypted_knn_query} search processor), and the storage tier sees equality and
 *       frequency of the values.</li>
 *   <li>A text value that already carries {@code ekr1:}/{@code ekd1:} is kept only if it opens under the field's key
 *       ({@code ekr1:} for the index written to); one that does not is plaintext that looks encrypted: a 400.</li>
 *   <li>{@code ignore_missing} (default false): a document without {@code field} is indexed (its text fields are
 *       still encrypted) instead of being rejected.</li>
 * </ul>
 * Everything is computed before the document is changed: a document that fails (wrong dimension, NaN, non-string
 * text field, no key, unknown model) is rejected whole, with a 400 naming the field, and nothing of it is indexed.
 */
public final class EncryptedKnnIngestProcessor extends GatewayIngestProcessor {

    public static final String TYPE = "encrypted_knn";

    private final TextFields textFields;

    EncryptedKnnIngestProcessor(
            String tag,
            String description,
            NodeKeyHolder gateway,
            String modelId,
            String field,
            TextFields textFields,
            boolean ignoreMissing) {
        super(TYPE, tag, description, gateway, modelId, field, ignoreMissing);
        this.textFields = textFields;
    }

    @Override
    String missingFieldHint() {
        return "; the [" + TYPE
                + "] processor needs the vector to encrypt (set ignore_missing to index documents without it)";
    }

    @Override
    void transformVector(IngestDocument document, Object value, CachedModel model, Map<String, Object> updates) {
        if (Records.isRecord(value)) {
            return;
        }
        VectorTransform transform = model.transform();
        float[] x = Records.plainVector(value, field, model.model().parameters().dimension());
        String id = IngestSupport.metadata(document, IngestDocument.Metadata.ID.getFieldName());
        EncryptedVector encrypted;
        try {
            encrypted = id != null
                    ? transform.encryptDocument(x, id, field)
                    : transform.encryptDocument(x, transform.nonces().forVector(x, field, transform.epoch()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field [" + field + "]: " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(x, 0f);
        }
        updates.put(field, Records.toMap(encrypted));
    }

    @Override
    void transformTextFields(IngestDocument document, KeyLease lease, Map<String, Object> updates) {
        textFields.encrypt(document, gateway, lease, updates, TextFields.VERIFY);
    }

    /** Factory; the processor needs the key only when it runs, not when the pipeline is stored. */
    public static Processor.Factory factory(NodeKeyHolder gateway) {
        return (registry, tag, description, config) -> {
            String modelId = ProcessorConfig.modelId(TYPE, tag, config);
            String field = ConfigurationUtils.readStringProperty(TYPE, tag, config, "field");
            TextFields textFields = TextFields.read(TYPE, tag, config, field);
            boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
            return new EncryptedKnnIngestProcessor(
                    tag, description, gateway, modelId, field, textFields, ignoreMissing);
        };
    }
}
