package org.encryptedknn.dropin;

import java.util.Map;
import java.util.function.Consumer;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.settings.EncryptedKnnSettings;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.admin.indices.create.CreateIndexAction;
import org.opensearch.action.admin.indices.create.CreateIndexRequest;
import org.opensearch.action.admin.indices.mapping.put.PutMappingAction;
import org.opensearch.action.admin.indices.mapping.put.PutMappingRequest;
import org.opensearch.cluster.ClusterState;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.metadata.IndexTemplateMetadata;
import org.opensearch.cluster.metadata.MetadataIndexTemplateService;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.index.Index;

/**
 * The mapping half of the drop-in opt-in (run by {@link DropInActionFilter}): on the node that receives a create-index or put-mapping request for an index
 * with {@code index.encrypted_knn.model_id} (in the request, or from a matching index template, which is how an
 * operator opts in indices that a framework creates by itself), the mapping's {@code knn_vector} fields become
 * {@code encrypted_knn_vector} fields of the model ({@link KnnVectorMapping}), and {@code index.knn: true}, which the
 * frameworks set for the k-NN plugin's codec, is switched off (the index uses ours). Needs the master key on that
 * node (the model's dimension, cells and prefix dimension are read from the sealed registry document).
 *
 * <p>An index created implicitly by a write (auto-create) gets its mapping from templates and dynamic mapping, which
 * this rewrite does not see: a template that opts in must also map the vector field, as {@code encrypted_knn_vector}
 * (docs/gateway-mode.md, "Drop-in").
 */
public final class DropInMappings {

    private final NodeKeyHolder gateway;
    private volatile ClusterService clusterService;
    private volatile IndexNameExpressionResolver resolver;

    public DropInMappings(NodeKeyHolder gateway) {
        this.gateway = gateway;
    }

    public void start(ClusterService clusterService, IndexNameExpressionResolver resolver) {
        this.clusterService = clusterService;
        this.resolver = resolver;
    }

    /**
     * Takes over a create-index or put-mapping request of an opted-in index whose mapping has vector fields: rewrites
     * it, then runs {@code proceed} (or {@code fail}). Returns false (and does nothing) for any other request.
     */
    public boolean intercept(String action, ActionRequest request, Runnable proceed, Consumer<Exception> fail) {
        if (clusterService == null) {
            return false;
        }
        try {
            if (CreateIndexAction.NAME.equals(action) && request instanceof CreateIndexRequest create) {
                return createIndex(create, proceed, fail);
            }
            if (PutMappingAction.NAME.equals(action) && request instanceof PutMappingRequest put) {
                return putMapping(put, proceed, fail);
            }
        } catch (Exception e) {
            fail.accept(e);
            return true;
        }
        return false;
    }

    /** Returns false when the request has nothing to do with the opt-in (the caller proceeds). */
    private boolean createIndex(CreateIndexRequest create, Runnable proceed, Consumer<Exception> fail) {
        ClusterState state = clusterService.state();
        Settings templates = templateSettings(state, create.index());
        // {"knn": true} and {"index": {"knn": true}} are the same setting (opensearch-java sends the first)
        Settings requested = Settings.builder()
                .put(create.settings())
                .normalizePrefix(IndexMetadata.INDEX_SETTING_PREFIX)
                .build();
        String model = EncryptedKnnSettings.dropInModel(requested);
        if (model == null) {
            model = EncryptedKnnSettings.dropInModel(templates);
        }
        if (model == null) {
            return false;
        }
        boolean knnCodec = requested.getAsBoolean(EncryptedKnnSettings.OPENSEARCH_KNN_INDEX, null) != null
                ? requested.getAsBoolean(EncryptedKnnSettings.OPENSEARCH_KNN_INDEX, false)
                : templates.getAsBoolean(EncryptedKnnSettings.OPENSEARCH_KNN_INDEX, false);
        if (knnCodec) {
            // the frameworks' "index.knn": true asks for the k-NN plugin's codec; the opt-in index uses ours
            create.settings(Settings.builder()
                    .put(requested)
                    .put(EncryptedKnnSettings.OPENSEARCH_KNN_INDEX, false)
                    .build());
        }
        String source = create.mappings();
        if (source == null || source.isEmpty() || source.equals("{}")) {
            return false;
        }
        return rewrite(source, model, create::mapping, proceed, fail);
    }

    private boolean putMapping(PutMappingRequest put, Runnable proceed, Consumer<Exception> fail) {
        ClusterState state = clusterService.state();
        Index[] indices = put.getConcreteIndex() != null
                ? new Index[] {put.getConcreteIndex()}
                : resolver.concreteIndices(state, put);
        String model = null;
        for (Index index : indices) {
            IndexMetadata metadata = state.metadata().index(index);
            String m = metadata == null ? null : EncryptedKnnSettings.dropInModel(metadata.getSettings());
            if (m != null && model != null && m.equals(model) == false) {
                throw new IllegalArgumentException(
                        "put mapping targets indices opted in with different models; put them separately");
            }
            model = m == null ? model : m;
        }
        if (model == null || put.source() == null) {
            return false;
        }
        return rewrite(put.source(), model, put::source, proceed, fail);
    }

    /**
     * Rewrites the mapping {@code source} under the model, hands it to {@code apply}, then proceeds; false when the
     * mapping has no vector field (nothing to do).
     */
    private boolean rewrite(
            String source,
            String model,
            Consumer<Map<String, Object>> apply,
            Runnable proceed,
            Consumer<Exception> fail) {
        Map<String, Object> mapping = XContentHelper.convertToMap(new BytesArray(source), true, XContentType.JSON)
                .v2();
        if (KnnVectorMapping.hasVectorFields(mapping, model) == false) {
            return false;
        }
        withModel(
                model,
                meta -> {
                    KnnVectorMapping.rewrite(mapping, model, meta);
                    apply.accept(mapping);
                    proceed.run();
                },
                fail);
        return true;
    }

    /** The settings that matching index templates give a new index (a v2 template wins over v1 ones). */
    private static Settings templateSettings(ClusterState state, String index) {
        String v2 = MetadataIndexTemplateService.findV2Template(state.metadata(), index, false);
        if (v2 != null) {
            return MetadataIndexTemplateService.resolveSettings(state.metadata(), v2);
        }
        java.util.List<IndexTemplateMetadata> v1 =
                MetadataIndexTemplateService.findV1Templates(state.metadata(), index, false);
        return MetadataIndexTemplateService.resolveSettings(v1);
    }

    /**
     * The model's public part, read under this node's key. No key: {@code acquire} throws the usual 400 naming
     * the setting, which {@link #intercept} reports.
     */
    private void withModel(String modelId, ModelAction action, Consumer<Exception> fail) {
        KeyLease lease = gateway.acquire();
        gateway.model(
                lease,
                modelId,
                ActionListener.wrap(
                        (CachedModel model) -> {
                            ModelMetadata meta = ModelMetadata.of(model.model());
                            lease.close();
                            try {
                                action.accept(meta);
                            } catch (Exception e) {
                                fail.accept(e);
                            }
                        },
                        e -> {
                            lease.close();
                            fail.accept(e);
                        }));
    }

    private interface ModelAction {
        void accept(ModelMetadata meta) throws Exception;
    }
}
