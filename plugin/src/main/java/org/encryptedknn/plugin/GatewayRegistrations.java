package org.encryptedknn.plugin;

import java.io.Closeable;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.encryptedknn.dropin.DropInActionFilter;
import org.encryptedknn.dropin.DropInMappings;
import org.encryptedknn.ingest.DropInIngestProcessor;
import org.encryptedknn.ingest.EncryptedKnnIngestProcessor;
import org.encryptedknn.ingest.EncryptedKnnRekeyProcessor;
import org.encryptedknn.keystore.KeystoreSettings;
import org.encryptedknn.keystore.ModelStore;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.rest.RestModelsAction;
import org.encryptedknn.search.pipeline.DropInKnnSearch;
import org.encryptedknn.search.pipeline.EncryptedKnnQueryProcessor;
import org.encryptedknn.search.pipeline.EncryptedKnnRerankProcessor;
import org.encryptedknn.search.pipeline.GatewayCkks;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.indices.SystemIndexDescriptor;
import org.opensearch.ingest.Processor;
import org.opensearch.rest.RestHandler;
import org.opensearch.search.pipeline.SearchRequestProcessor;
import org.opensearch.search.pipeline.SearchResponseProcessor;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;

/**
 * Everything gateway mode registers with OpenSearch, kept out of {@link EncryptedKnnPlugin} so the plugin class only
 * delegates: the keystore setting, the model registry endpoints and system index, the ingest processors
 * {@code encrypted_knn} and {@code encrypted_knn_rekey}, the search processors {@code encrypted_knn_query} and
 * {@code encrypted_knn_rerank}, and the key reload.
 */
final class GatewayRegistrations implements Closeable {

    private final NodeKeyHolder gateway = new NodeKeyHolder();
    private final GatewayCkks ckks = new GatewayCkks();
    private final DropInKnnSearch dropInSearch = new DropInKnnSearch(gateway, ckks);
    private final DropInMappings dropInMappings = new DropInMappings(gateway);

    NodeKeyHolder gateway() {
        return gateway;
    }

    List<Setting<?>> settings() {
        return List.of(KeystoreSettings.MASTER_KEY_SETTING);
    }

    void start(
            Settings nodeSettings,
            Client client,
            ClusterService clusterService,
            ThreadPool threadPool,
            java.nio.file.Path dataPath,
            IndexNameExpressionResolver resolver,
            NamedXContentRegistry xContentRegistry) {
        gateway.start(nodeSettings, client, clusterService, threadPool, dataPath);
        dropInSearch.start(clusterService, resolver, xContentRegistry);
        dropInMappings.start(clusterService, resolver);
    }

    /** The drop-in opt-in's request translations: {@code knn} queries, and {@code knn_vector} mappings. */
    List<ActionFilter> actionFilters() {
        return List.of(new DropInActionFilter(dropInSearch, dropInMappings));
    }

    void reload(Settings settings) {
        gateway.reload(settings);
    }

    List<RestHandler> restHandlers() {
        return List.of(new RestModelsAction(gateway));
    }

    Map<String, Processor.Factory> ingestProcessors() {
        return Map.of(
                EncryptedKnnIngestProcessor.TYPE, EncryptedKnnIngestProcessor.factory(gateway),
                EncryptedKnnRekeyProcessor.TYPE, EncryptedKnnRekeyProcessor.factory(gateway));
    }

    Map<String, Processor.Factory> systemIngestProcessors() {
        return Map.of(DropInIngestProcessor.TYPE, DropInIngestProcessor.factory(gateway));
    }

    Map<String, org.opensearch.search.pipeline.Processor.Factory<SearchRequestProcessor>> requestProcessors() {
        return Map.of(EncryptedKnnQueryProcessor.TYPE, EncryptedKnnQueryProcessor.factory(gateway, ckks));
    }

    Map<String, org.opensearch.search.pipeline.Processor.Factory<SearchResponseProcessor>> responseProcessors() {
        return Map.of(EncryptedKnnRerankProcessor.TYPE, EncryptedKnnRerankProcessor.factory(gateway));
    }

    Collection<SystemIndexDescriptor> systemIndices() {
        return List.of(new SystemIndexDescriptor(
                ModelStore.INDEX, "encrypted-knn model registry (models sealed under the master key)"));
    }

    @Override
    public void close() {
        ckks.close();
        gateway.close();
    }
}
