package org.encryptedknn.ingest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.keystore.ProcessorConfig;
import org.encryptedknn.keystore.Records;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.VectorTransform;
import org.opensearch.common.UUIDs;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.Processor;

/**
 * Ingest processor {@code encrypted_knn}:
 * {@code {"model_id":"m1","field":"embedding","encrypt_fields":["body"],"deterministic_fields":["sender"],"ignore_missing":false}}.
 *
 * <ul>
 *   <li>{@code field}: the plaintext vector (an array of {@code dimension} numbers) is replaced by the encrypted object
 *       {@code {p,n,c,z,e}} under the model's current epoch. SAP nonce = PRF(_id, field, epoch, vector): the same
 *       vector encrypts identically, a new version of the document gets fresh noise. A document sent without an
 *       {@code _id} gets a random one here ({@link #documentId}). A value that is already an encrypted object passes
 *       unchanged (re-indexing encrypted documents).</li>
 *   <li>{@code encrypt_fields}: strings (or arrays of strings) become AES-256-GCM ciphertexts {@code ekr2:…} with
 *       associated data = (the concrete index the document is written to — the write index when the request names an
 *       alias or data stream —, the {@code _id}, the field name), length-prefixed: a value moved to another document
 *       does not decrypt.</li>
 *   <li>{@code deterministic_fields}: AES-SIV {@code ekd1:…}; equal values give equal ciphertexts, so term filters
 *       still match (through the {@code encrypted_knn_query} search processor), and the storage tier sees equality and
 *       frequency of the values.</li>
 *   <li>{@code ignore_missing} (default false): a document without {@code field} is indexed (its text fields are
 *       still encrypted) instead of being rejected.</li>
 * </ul>
 * Everything is computed before the document is changed: a document that fails (wrong dimension, NaN, non-string
 * text field, no key, unknown model) is rejected whole, with a 400 naming the field, and nothing of it is indexed.
 */
public final class EncryptedKnnIngestProcessor extends GatewayIngestProcessor {

    public static final String TYPE = "encrypted_knn";

    private final List<String> encryptFields;
    private final List<String> deterministicFields;

    EncryptedKnnIngestProcessor(
            String tag,
            String description,
            NodeKeyHolder gateway,
            String modelId,
            String field,
            List<String> encryptFields,
            List<String> deterministicFields,
            boolean ignoreMissing) {
        super(TYPE, tag, description, gateway, modelId, field, ignoreMissing);
        this.encryptFields = encryptFields;
        this.deterministicFields = deterministicFields;
    }

    @Override
    String missingFieldHint() {
        return "; the [" + TYPE
                + "] processor needs the vector to encrypt (set ignore_missing to index documents without it)";
    }

    @Override
    void transformVector(IngestDocument document, Object value, CachedModel model, Map<String, Object> updates) {
        if (RecordFormat.looksLikeRecord(value)) {
            return;
        }
        VectorTransform transform = model.transform();
        float[] x = Records.plainVector(value, field, model.model().parameters().dimension());
        String id = documentId(document);
        EncryptedVector encrypted;
        try {
            encrypted = transform.encryptDocument(x, id, field);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field [" + field + "]: " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(x, 0f);
        }
        updates.put(field, RecordFormat.toMap(encrypted));
    }

    @Override
    void transformTextFields(IngestDocument document, KeyLease lease, Map<String, Object> updates) {
        if (encryptFields.isEmpty() == false) {
            String index = gateway.concreteWriteIndex(
                    IngestSupport.metadata(document, IngestDocument.Metadata.INDEX.getFieldName()));
            String id = documentId(document);
            for (String f : encryptFields) {
                FieldCipher cipher = lease.fieldCipher(f);
                transformText(document, f, "encrypt_fields", updates, s -> cipher.encrypt(s, index, id));
            }
        }
        for (String f : deterministicFields) {
            FieldCipher cipher = lease.fieldCipher(f);
            transformText(document, f, "deterministic_fields", updates, cipher::encryptDeterministic);
        }
    }

    /**
     * The document's {@code _id}; a document indexed without one (auto-generated ids are assigned only after the
     * pipeline) gets a random UUID here, set into its {@code _id} metadata, which the index request then uses. So the
     * SAP nonce and the text fields' associated data always bind the id, and no document falls back to the vector-only
     * nonce (which reveals exact duplicates).
     */
    static String documentId(IngestDocument document) {
        String idField = IngestDocument.Metadata.ID.getFieldName();
        String id = IngestSupport.metadata(document, idField);
        if (id == null) {
            id = UUIDs.base64UUID();
            document.setFieldValue(idField, id);
        }
        return id;
    }

    /** Encrypts a string or an array of strings; values already encrypted by this plugin pass unchanged. */
    static void transformText(
            IngestDocument document, String f, String option, Map<String, Object> updates, UnaryOperator<String> op) {
        Object v = document.getFieldValue(f, Object.class, true);
        if (v == null) {
            return;
        }
        if (v instanceof String s) {
            updates.put(f, FieldCipher.isEncrypted(s) ? s : op.apply(s));
        } else if (v instanceof List<?> list) {
            List<String> out = new ArrayList<>(list.size());
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw new IllegalArgumentException(
                            "field [" + f + "] (in " + option + ") must be a string or an array of strings");
                }
                out.add(FieldCipher.isEncrypted(s) ? s : op.apply(s));
            }
            updates.put(f, out);
        } else {
            throw new IllegalArgumentException(
                    "field [" + f + "] (in " + option + ") must be a string or an array of strings");
        }
    }

    /** Factory; the processor needs the key only when it runs, not when the pipeline is stored. */
    public static Processor.Factory factory(NodeKeyHolder gateway) {
        return (registry, tag, description, config) -> {
            String modelId = ProcessorConfig.modelId(TYPE, tag, config);
            String field = ConfigurationUtils.readStringProperty(TYPE, tag, config, "field");
            List<String> encrypt = ProcessorConfig.fieldNames(TYPE, tag, config, "encrypt_fields");
            List<String> deterministic = ProcessorConfig.fieldNames(TYPE, tag, config, "deterministic_fields");
            boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
            for (String f : encrypt) {
                if (deterministic.contains(f)) {
                    throw ConfigurationUtils.newConfigurationException(
                            TYPE,
                            tag,
                            "deterministic_fields",
                            "field [" + f + "] is also in encrypt_fields; a field is encrypted one way");
                }
            }
            if (encrypt.contains(field) || deterministic.contains(field)) {
                throw ConfigurationUtils.newConfigurationException(
                        TYPE, tag, "field", "the vector field [" + field + "] cannot also be a text field");
            }
            return new EncryptedKnnIngestProcessor(
                    tag, description, gateway, modelId, field, encrypt, deterministic, ignoreMissing);
        };
    }
}
