package org.encryptedknn.ingest;

import java.util.Map;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.keystore.ProcessorConfig;
import org.encryptedknn.keystore.Records;
import org.encryptedknn.settings.DropInMapping;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordForm;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.VectorTransform;
import org.opensearch.common.UUIDs;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.Processor;

/**
 * Ingest processor {@code encrypted_knn}:
 * {@code {"model_id":"m1","field":"embedding","record_form":"sealed","encrypt_fields":["body"],"deterministic_fields":["sender"],"ignore_missing":false}}.
 *
 * <ul>
 *   <li>{@code field}: the plaintext vector (an array of {@code dimension} numbers) is replaced by the encrypted object
 *       {@code {p,n,s,e}} ({@code record_form} {@code sealed}, the default: only the key holder can score it) or
 *       {@code {p,n,c,z,e}} ({@code keyed}: what the {@code ckks} and {@code keyed_leaks_query_residuals} search modes
 *       score on the data node, and z's within-cell inner products are stored; {@link RecordForm}) under the model's
 *       current epoch. SAP nonce = PRF(_id, field, epoch, vector): the same
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
 *   <li>A text value that already carries {@code ekr2:}, {@code ekr1:} or {@code ekd1:} is kept only if it opens under the field's key
 *       (a randomized one for the index and _id written to); one that does not is plaintext that looks encrypted: a 400.</li>
 *   <li>{@code ignore_missing} (default false): a document without {@code field} is indexed (its text fields are
 *       still encrypted) instead of being rejected.</li>
 * </ul>
 * Everything is computed before the document is changed: a document that fails (wrong dimension, NaN, non-string
 * text field, no key, unknown model) is rejected whole, with a 400 naming the field, and nothing of it is indexed.
 */
public final class EncryptedKnnIngestProcessor extends GatewayIngestProcessor {

    public static final String TYPE = "encrypted_knn";

    private final TextFields textFields;
    private final RecordForm recordForm;
    /** The drop-in's l2 field: a vector must have unit norm ({@link DropInMapping#L2_NORM_TOLERANCE}). */
    private final boolean unitVectors;

    EncryptedKnnIngestProcessor(
            String tag,
            String description,
            NodeKeyHolder gateway,
            String modelId,
            String field,
            TextFields textFields,
            RecordForm recordForm,
            boolean ignoreMissing,
            boolean unitVectors) {
        super(TYPE, tag, description, gateway, modelId, field, ignoreMissing);
        this.textFields = textFields;
        this.recordForm = recordForm;
        this.unitVectors = unitVectors;
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
        if (unitVectors) {
            requireUnitNorm(x);
        }
        String id = documentId(document);
        EncryptedVector encrypted;
        try {
            encrypted = transform.encryptDocument(x, id, field, recordForm);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field [" + field + "]: " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(x, 0f);
        }
        updates.put(field, RecordFormat.toMap(encrypted));
    }

    /**
     * An l2 field over a cosine model is exact only for unit vectors, and normalizing here would change the l2
     * answers the application expects: a vector of another length is refused (with its norm, never its values).
     */
    private void requireUnitNorm(float[] x) {
        double norm2 = 0;
        for (float v : x) {
            norm2 += (double) v * v;
        }
        double norm = Math.sqrt(norm2);
        if (Math.abs(norm - 1) > DropInMapping.L2_NORM_TOLERANCE) {
            java.util.Arrays.fill(x, 0f);
            throw new IllegalArgumentException("field [" + field + "] has [space_type: l2] over the cosine model ["
                    + modelId + "], which answers l2 exactly only for unit vectors (norm 1 ± "
                    + DropInMapping.L2_NORM_TOLERANCE + "); this vector has norm " + (float) norm
                    + ": normalize it in the application, or map the field with [space_type: cosinesimil]");
        }
    }

    @Override
    void transformTextFields(IngestDocument document, KeyLease lease, Map<String, Object> updates) {
        textFields.encrypt(document, gateway, lease, updates, documentId(document), TextFields.VERIFY);
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

    /** Factory; the processor needs the key only when it runs, not when the pipeline is stored. */
    public static Processor.Factory factory(NodeKeyHolder gateway) {
        return (registry, tag, description, config) -> {
            String modelId = ProcessorConfig.modelId(TYPE, tag, config);
            String field = ConfigurationUtils.readStringProperty(TYPE, tag, config, "field");
            TextFields textFields = TextFields.read(TYPE, tag, config, field);
            String form = ConfigurationUtils.readStringProperty(
                    TYPE, tag, config, "record_form", RecordForm.DEFAULT.wireName());
            RecordForm recordForm;
            try {
                recordForm = RecordForm.parse(form, "[record_form]");
            } catch (IllegalArgumentException e) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "record_form", e.getMessage());
            }
            boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
            return new EncryptedKnnIngestProcessor(
                    tag, description, gateway, modelId, field, textFields, recordForm, ignoreMissing, false);
        };
    }
}
