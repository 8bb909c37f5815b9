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
        if (encryptFields.isEmpty() == false) {
            String index = gateway.concreteWriteIndex(
                    IngestSupport.metadata(document, IngestDocument.Metadata.INDEX.getFieldName()));
            for (String f : encryptFields) {
                FieldCipher cipher = lease.fieldCipher(f);
                transformText(
                        document,
                        f,
                        "encrypt_fields",
                        updates,
                        s -> cipher.encrypt(s, index),
                        UnaryOperator.identity());
            }
        }
        for (String f : deterministicFields) {
            FieldCipher cipher = lease.fieldCipher(f);
            transformText(
                    document,
                    f,
                    "deterministic_fields",
                    updates,
                    cipher::encryptDeterministic,
                    UnaryOperator.identity());
        }
    }

    /**
     * Maps a string or an array of strings: plaintext values through {@code encrypt} (never left as they are), values
     * already encrypted by this plugin through {@code encrypted}. Anything else is a 400 naming the field.
     */
    static void transformText(
            IngestDocument document,
            String f,
            String option,
            Map<String, Object> updates,
            UnaryOperator<String> encrypt,
            UnaryOperator<String> encrypted) {
        Object v = document.getFieldValue(f, Object.class, true);
        if (v == null) {
            return;
        }
        UnaryOperator<String> op = s -> FieldCipher.isEncrypted(s) ? encrypted.apply(s) : encrypt.apply(s);
        if (v instanceof String s) {
            updates.put(f, op.apply(s));
        } else if (v instanceof List<?> list) {
            List<String> out = new ArrayList<>(list.size());
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw new IllegalArgumentException(
                            "field [" + f + "] (in " + option + ") must be a string or an array of strings");
                }
                out.add(op.apply(s));
            }
            updates.put(f, out);
        } else {
            throw new IllegalArgumentException(
                    "field [" + f + "] (in " + option + ") must be a string or an array of strings");
        }
    }

    /** A text field is encrypted one way, and the vector field is not a text field. */
    static void checkTextFields(
            String type, String tag, String field, List<String> encrypt, List<String> deterministic) {
        for (String f : encrypt) {
            if (deterministic.contains(f)) {
                throw ConfigurationUtils.newConfigurationException(
                        type,
                        tag,
                        "deterministic_fields",
                        "field [" + f + "] is also in encrypt_fields; a field is encrypted one way");
            }
        }
        if (encrypt.contains(field) || deterministic.contains(field)) {
            throw ConfigurationUtils.newConfigurationException(
                    type, tag, "field", "the vector field [" + field + "] cannot also be a text field");
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
            checkTextFields(TYPE, tag, field, encrypt, deterministic);
            return new EncryptedKnnIngestProcessor(
                    tag, description, gateway, modelId, field, encrypt, deterministic, ignoreMissing);
        };
    }
}
