package org.encryptedknn.ingest;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.settings.DropInMapping;
import org.encryptedknn.settings.EncryptedKnnSettings;
import org.encryptedknn.transform.RecordForm;
import org.opensearch.common.settings.Settings;
import org.opensearch.ingest.AbstractProcessor;
import org.opensearch.ingest.IngestDocument;
import org.opensearch.ingest.Processor;
import org.opensearch.plugins.IngestPlugin.SystemIngestPipelineConfigKeys;

/**
 * System ingest processor {@code encrypted_knn_drop_in}: OpenSearch puts it, by itself, at the end of every write to an
 * index with {@code index.encrypted_knn.model_id} (after the request's {@code ?pipeline=}, the default and the final
 * pipeline, so none of them can bypass it). For every vector field of the index's mapping (an
 * {@code encrypted_knn_vector}, or a {@code knn_vector} that the opt-in turns into one) it does what the
 * {@code encrypted_knn} processor does: a plaintext array becomes the record {@code {p,n,c,z,e}} under the field's
 * model; a record passes unchanged (re-indexing, {@code encrypted_knn_rekey}); a document without the field is
 * indexed as it is. A field with {@code space_type: l2} takes unit vectors only (a 400 naming the field and the
 * vector's norm otherwise; {@link DropInMapping#L2_NORM_TOLERANCE}). An index without the setting gets no processor,
 * so nothing changes for it.
 */
public final class DropInIngestProcessor extends AbstractProcessor {

    public static final String TYPE = "encrypted_knn_drop_in";

    /** One per encrypted field, run one after the other. */
    private final List<EncryptedKnnIngestProcessor> fields;

    DropInIngestProcessor(String tag, String description, List<EncryptedKnnIngestProcessor> fields) {
        super(tag, description);
        this.fields = fields;
    }

    @Override
    public String getType() {
        return TYPE;
    }

    @Override
    public boolean isSystemGenerated() {
        return true;
    }

    /** The vector fields this processor encrypts, in mapping order. */
    List<String> fieldNames() {
        return fields.stream().map(p -> p.field).toList();
    }

    @Override
    public IngestDocument execute(IngestDocument document) {
        throw new UnsupportedOperationException("[" + TYPE + "] runs asynchronously (it may load the model)");
    }

    @Override
    public void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
        next(0, document, handler);
    }

    private void next(int i, IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
        if (i == fields.size()) {
            handler.accept(document, null);
            return;
        }
        fields.get(i).execute(document, (doc, e) -> {
            if (e != null) {
                handler.accept(null, e);
            } else {
                next(i + 1, doc, handler);
            }
        });
    }

    /**
     * Creates the processor from what OpenSearch hands a system ingest processor factory: the index's (or the
     * matching templates') settings and mappings. Returns null (no processor) when the index has not opted in or
     * maps no vector field.
     */
    public static Processor.Factory factory(NodeKeyHolder gateway) {
        return new Processor.Factory() {
            @Override
            public Processor create(
                    Map<String, Processor.Factory> registry,
                    String tag,
                    String description,
                    Map<String, Object> config) {
                String model = dropInModel(config);
                if (model == null) {
                    return null;
                }
                Map<String, DropInMapping.VectorField> vectorFields =
                        DropInMapping.vectorFields(mappings(config), model);
                if (vectorFields.isEmpty()) {
                    return null;
                }
                List<EncryptedKnnIngestProcessor> fields = new ArrayList<>();
                vectorFields.forEach((field, vectorField) -> fields.add(new EncryptedKnnIngestProcessor(
                        tag,
                        description,
                        gateway,
                        vectorField.modelId(),
                        field,
                        new TextFields(List.of(), List.of()),
                        RecordForm.DEFAULT,
                        true,
                        vectorField.l2())));
                return new DropInIngestProcessor(tag, description, List.copyOf(fields));
            }

            @Override
            public boolean isSystemGenerated() {
                return true;
            }
        };
    }

    /** The opt-in model: the index's setting, or the last matching template's (templates come lowest order first). */
    static String dropInModel(Map<String, Object> config) {
        String model = null;
        if (config.get(SystemIngestPipelineConfigKeys.INDEX_TEMPLATE_SETTINGS) instanceof Collection<?> templates) {
            for (Object t : templates) {
                if (t instanceof Settings s && EncryptedKnnSettings.dropInModel(s) != null) {
                    model = EncryptedKnnSettings.dropInModel(s);
                }
            }
        }
        if (config.get(SystemIngestPipelineConfigKeys.INDEX_SETTINGS) instanceof Settings s) {
            model = EncryptedKnnSettings.dropInModel(s);
        }
        return model;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> mappings(Map<String, Object> config) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (config.get(SystemIngestPipelineConfigKeys.INDEX_TEMPLATE_MAPPINGS) instanceof Collection<?> templates) {
            for (Object m : templates) {
                if (m instanceof Map<?, ?> map) {
                    out.add((Map<String, Object>) map);
                }
            }
        }
        if (config.get(SystemIngestPipelineConfigKeys.INDEX_MAPPINGS) instanceof Map<?, ?> map) {
            out.add((Map<String, Object>) map);
        }
        return out;
    }
}
