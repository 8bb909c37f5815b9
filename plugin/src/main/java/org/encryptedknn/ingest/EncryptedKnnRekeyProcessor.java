package org.encryptedknn.ingest;

import java.util.Map;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.keystore.ProcessorConfig;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.VectorTransform;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.Processor;

/**
 * Ingest processor {@code encrypted_knn_rekey}: {@code {"model_id":"m1","field":"embedding","to_epoch":2}} — for
 * {@code _update_by_query} (in place) or {@code _reindex} after {@code POST …/models/m1/_rotate}. A stored record of an
 * older epoch is re-keyed into {@code to_epoch} (default: the model's current epoch) without the plaintext:
 * z' = H'_c H_cᵀ z, p' = SAP'(R' Rᵀ SAP⁻¹(p)) with the new epoch's nonce PRF(_id, field, epoch). Records already at the
 * target epoch pass unchanged; a plaintext vector or a record of a newer epoch is a 400.
 *
 * <p>Optional {@code encrypt_fields} with {@code source_index}: for a {@code _reindex} into another index, re-binds the
 * AES-GCM text fields (whose associated data names the index) from {@code source_index} to the destination index.
 * Optional {@code deterministic_fields}: AES-SIV values pass unchanged. A plaintext value in either list is encrypted
 * (AES-GCM for the destination index, AES-SIV), never written back as it is.
 */
public final class EncryptedKnnRekeyProcessor extends GatewayIngestProcessor {

    public static final String TYPE = "encrypted_knn_rekey";

    private final Integer toEpoch;
    private final TextFields textFields;
    private final String sourceIndex;

    EncryptedKnnRekeyProcessor(
            String tag,
            String description,
            NodeKeyHolder gateway,
            String modelId,
            String field,
            Integer toEpoch,
            boolean ignoreMissing,
            TextFields textFields,
            String sourceIndex) {
        super(TYPE, tag, description, gateway, modelId, field, ignoreMissing);
        this.toEpoch = toEpoch;
        this.textFields = textFields;
        this.sourceIndex = sourceIndex;
    }

    @Override
    String missingFieldHint() {
        return " (set ignore_missing to skip such documents)";
    }

    @Override
    void transformVector(IngestDocument document, Object value, CachedModel model, Map<String, Object> updates) {
        if (RecordFormat.looksLikeRecord(value) == false) {
            throw new IllegalArgumentException(
                    "field [" + field
                            + "] does not hold an encrypted vector object {p,n,c,z,e}; encrypt plaintext vectors with the [encrypted_knn] processor");
        }
        int target = toEpoch == null ? model.epoch() : toEpoch;
        if (target > model.epoch()) {
            throw new IllegalArgumentException(
                    "[to_epoch] " + target + " is beyond model [" + modelId + "]'s current epoch " + model.epoch());
        }
        EncryptedVector record =
                RecordFormat.fromMap(value, "field [" + field + "]", RecordFormat.Shape.of(model.model()));
        if (record.epoch() > target) {
            throw new IllegalArgumentException("field [" + field + "] holds a record of epoch " + record.epoch()
                    + ", newer than the target epoch " + target);
        }
        if (record.epoch() < target) {
            String id = IngestSupport.metadata(document, IngestDocument.Metadata.ID.getFieldName());
            if (id == null) {
                throw new IllegalArgumentException("re-keying field [" + field
                        + "] needs the document _id (the new nonce is PRF(_id, field, epoch))");
            }
            VectorTransform from = model.transform(record.epoch());
            VectorTransform to = model.transform(target);
            updates.put(field, RecordFormat.toMap(to.rekey(from, record, id, field)));
        }
    }

    @Override
    void transformTextFields(IngestDocument document, KeyLease lease, Map<String, Object> updates) {
        String id = IngestSupport.metadata(document, IngestDocument.Metadata.ID.getFieldName());
        if (id == null && textFields.randomized().isEmpty() == false) {
            throw new IllegalArgumentException(
                    "re-binding [encrypt_fields] needs the document _id (it is part of their associated data)");
        }
        textFields.encrypt(document, gateway, lease, updates, id, this::rebind);
    }

    /**
     * A randomized value must open for {@code source_index}; it is re-encrypted for {@code index} (v2 associated data)
     * unless it is a v2 value already bound there.
     */
    private String rebind(FieldCipher cipher, String value, String index, String id) {
        String plaintext = cipher.decrypt(value, sourceIndex, id);
        return value.startsWith(FieldCipher.RANDOMIZED_PREFIX) && sourceIndex.equals(index)
                ? value
                : cipher.encrypt(plaintext, index, id);
    }

    /** Factory; the processor needs the key only when it runs, not when the pipeline is stored. */
    public static Processor.Factory factory(NodeKeyHolder gateway) {
        return (registry, tag, description, config) -> {
            String modelId = ProcessorConfig.modelId(TYPE, tag, config);
            String field = ConfigurationUtils.readStringProperty(TYPE, tag, config, "field");
            Integer toEpoch = ConfigurationUtils.readIntProperty(TYPE, tag, config, "to_epoch", null);
            if (toEpoch != null && toEpoch < 1) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "to_epoch", "must be >= 1");
            }
            boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
            TextFields textFields = TextFields.read(TYPE, tag, config, field);
            String sourceIndex = ConfigurationUtils.readOptionalStringProperty(TYPE, tag, config, "source_index");
            if (textFields.randomized().isEmpty() == false && sourceIndex == null) {
                throw ConfigurationUtils.newConfigurationException(
                        TYPE,
                        tag,
                        "source_index",
                        "is required with encrypt_fields (the index the text fields were encrypted for)");
            }
            return new EncryptedKnnRekeyProcessor(
                    tag, description, gateway, modelId, field, toEpoch, ignoreMissing, textFields, sourceIndex);
        };
    }
}
