package org.encryptedknn.plugin;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.encryptedknn.codec.EncryptedKnnCodecService;
import org.encryptedknn.fetch.EncryptedKnnFetchSubPhase;
import org.encryptedknn.fetch.HitRecordsExt;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.mapper.EncryptedKnnVectorFieldMapper;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.query.EncryptedKnnQueryBuilder;
import org.encryptedknn.rescore.EncryptedKnnRescorerBuilder;
import org.encryptedknn.rest.RestEncryptedKnnStatsAction;
import org.encryptedknn.settings.EncryptedKnnSettings;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.node.DiscoveryNodes;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.ClusterSettings;
import org.opensearch.common.settings.IndexScopedSettings;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.settings.SettingsFilter;
import org.opensearch.common.util.concurrent.OpenSearchExecutors;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.env.Environment;
import org.opensearch.env.NodeEnvironment;
import org.opensearch.index.IndexModule;
import org.opensearch.index.IndexSettings;
import org.opensearch.index.codec.CodecServiceFactory;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.indices.SystemIndexDescriptor;
import org.opensearch.ingest.Processor;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.EnginePlugin;
import org.opensearch.plugins.IngestPlugin;
import org.opensearch.plugins.MapperPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.ReloadablePlugin;
import org.opensearch.plugins.SearchPipelinePlugin;
import org.opensearch.plugins.SearchPlugin;
import org.opensearch.plugins.SystemIndexPlugin;
import org.opensearch.repositories.RepositoriesService;
import org.opensearch.rest.RestController;
import org.opensearch.rest.RestHandler;
import org.opensearch.script.ScriptService;
import org.opensearch.search.fetch.FetchSubPhase;
import org.opensearch.search.pipeline.SearchRequestProcessor;
import org.opensearch.search.pipeline.SearchResponseProcessor;
import org.opensearch.threadpool.ExecutorBuilder;
import org.opensearch.threadpool.FixedExecutorBuilder;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;
import org.opensearch.watcher.ResourceWatcherService;

/**
 * The storage-side plugin {@code encrypted-knn}: field type {@code encrypted_knn_vector}, its codec
 * ({@code index.encrypted_knn: true}), the {@code encrypted_knn} query, the {@code encrypted_knn} rescorer and
 * {@code GET _plugins/encrypted_knn/stats}. Nothing here holds or needs a key.
 */
public class EncryptedKnnPlugin extends Plugin
        implements MapperPlugin,
                SearchPlugin,
                EnginePlugin,
                ActionPlugin,
                IngestPlugin,
                SearchPipelinePlugin,
                ReloadablePlugin,
                SystemIndexPlugin {

    /** The thread pool that scores ckks batches in parallel on data nodes. */
    public static final String CKKS_THREAD_POOL = "encrypted_knn_ckks";

    /** Gateway mode (key holder on ingest/coordinating nodes): see GatewayRegistrations and docs/gateway-mode.md. */
    private final GatewayRegistrations gateway = new GatewayRegistrations();

    private volatile ThreadPool threadPool;
    private volatile boolean parallelCkksBatches;

    public EncryptedKnnPlugin() {
        NativeMemoryHook.install();
    }

    @Override
    public List<Setting<?>> getSettings() {
        List<Setting<?>> settings = new ArrayList<>(List.of(
                EncryptedKnnSettings.INDEX_ENCRYPTED_KNN_SETTING,
                EncryptedKnnSettings.INDEX_MODEL_ID_SETTING,
                EncryptedKnnSettings.CKKS_PARALLEL_BATCHES_SETTING));
        settings.addAll(gateway.settings());
        return settings;
    }

    @Override
    public Map<String, Mapper.TypeParser> getMappers() {
        return Map.of(EncryptedKnnVectorFieldMapper.CONTENT_TYPE, new EncryptedKnnVectorFieldMapper.TypeParser());
    }

    @Override
    public List<QuerySpec<?>> getQueries() {
        return List.of(new QuerySpec<>(
                EncryptedKnnQueryBuilder.NAME, EncryptedKnnQueryBuilder::new, EncryptedKnnQueryBuilder::fromXContent));
    }

    @Override
    public List<RescorerSpec<?>> getRescorers() {
        return List.of(new RescorerSpec<>(
                EncryptedKnnRescorerBuilder.NAME,
                EncryptedKnnRescorerBuilder::new,
                EncryptedKnnRescorerBuilder::fromXContent));
    }

    /**
     * The per-hit field {@code _encrypted_knn}: each hit's record in binary, and in ckks mode the result ciphertexts,
     * whose batches also run on {@link #CKKS_THREAD_POOL} when {@code encrypted_knn.ckks.parallel_batches} is set
     * (docs/design.md §5.3, docs/ckks-mode.md).
     */
    @Override
    public List<FetchSubPhase> getFetchSubPhases(FetchPhaseConstructionContext context) {
        return List.of(new EncryptedKnnFetchSubPhase(() ->
                threadPool == null || parallelCkksBatches == false ? null : threadPool.executor(CKKS_THREAD_POOL)));
    }

    /** {@code "ext":{"encrypted_knn_records":{"field":…}}}: the per-hit records without a rescore (key_holder mode). */
    @Override
    public List<SearchExtSpec<?>> getSearchExts() {
        return List.of(new SearchExtSpec<>(HitField.REQUEST_EXT, HitRecordsExt::new, HitRecordsExt::fromXContent));
    }

    /**
     * A fixed pool, one thread per allocated processor, for the ckks batches of a window beyond the first (the search
     * thread scores its share too). Small queue: when it is full the search thread scores the batch itself.
     */
    @Override
    public List<ExecutorBuilder<?>> getExecutorBuilders(Settings settings) {
        int processors = OpenSearchExecutors.allocatedProcessors(settings);
        return List.of(
                new FixedExecutorBuilder(settings, CKKS_THREAD_POOL, processors, 64, "thread_pool." + CKKS_THREAD_POOL),
                new FixedExecutorBuilder(
                        settings,
                        NodeKeyHolder.RERANK_THREAD_POOL,
                        processors,
                        64,
                        "thread_pool." + NodeKeyHolder.RERANK_THREAD_POOL));
    }

    /**
     * Only for indices with {@code index.encrypted_knn: true}, so the plugin co-installs with opensearch-knn (which
     * answers for {@code index.knn: true}); an index asking for both is refused.
     */
    @Override
    public Optional<CodecServiceFactory> getCustomCodecServiceFactory(IndexSettings indexSettings) {
        if (!EncryptedKnnSettings.isEnabled(indexSettings.getSettings())) {
            return Optional.empty();
        }
        EncryptedKnnSettings.checkNotCombinedWithOpenSearchKnn(
                indexSettings.getIndex().getName(), indexSettings.getSettings());
        return Optional.of(EncryptedKnnCodecService::new);
    }

    @Override
    public void onIndexModule(IndexModule indexModule) {
        EncryptedKnnSettings.checkNotCombinedWithOpenSearchKnn(
                indexModule.getIndex().getName(), indexModule.getSettings());
    }

    @Override
    public List<RestHandler> getRestHandlers(
            Settings settings,
            RestController restController,
            ClusterSettings clusterSettings,
            IndexScopedSettings indexScopedSettings,
            SettingsFilter settingsFilter,
            IndexNameExpressionResolver indexNameExpressionResolver,
            Supplier<DiscoveryNodes> nodesInCluster) {
        List<RestHandler> handlers = new ArrayList<>();
        handlers.add(new RestEncryptedKnnStatsAction(nodesInCluster));
        handlers.addAll(gateway.restHandlers());
        return handlers;
    }

    // ------------------------------------------------------------------ gateway mode

    @Override
    public Collection<Object> createComponents(
            Client client,
            ClusterService clusterService,
            ThreadPool threadPool,
            ResourceWatcherService resourceWatcherService,
            ScriptService scriptService,
            NamedXContentRegistry xContentRegistry,
            Environment environment,
            NodeEnvironment nodeEnvironment,
            NamedWriteableRegistry namedWriteableRegistry,
            IndexNameExpressionResolver indexNameExpressionResolver,
            Supplier<RepositoriesService> repositoriesServiceSupplier) {
        this.threadPool = threadPool;
        this.parallelCkksBatches = EncryptedKnnSettings.CKKS_PARALLEL_BATCHES_SETTING.get(environment.settings());
        // The keystore is still open while the node is constructed: the master key is read here.
        // The node's data directory keeps the key holder's model epoch floors, outside every index.
        gateway.start(
                environment.settings(),
                client,
                clusterService,
                threadPool,
                nodeEnvironment.hasNodeFile() ? nodeEnvironment.nodeDataPaths()[0] : null,
                indexNameExpressionResolver,
                xContentRegistry);
        return List.of();
    }

    @Override
    public List<ActionFilter> getActionFilters() {
        return gateway.actionFilters();
    }

    @Override
    public void reload(Settings settings) {
        gateway.reload(settings);
    }

    @Override
    public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
        return gateway.ingestProcessors();
    }

    /** The drop-in processor, which OpenSearch runs on every write to an index with the opt-in setting. */
    @Override
    public Map<String, Processor.Factory> getSystemIngestProcessors(Processor.Parameters parameters) {
        return gateway.systemIngestProcessors();
    }

    @Override
    public Map<String, org.opensearch.search.pipeline.Processor.Factory<SearchRequestProcessor>> getRequestProcessors(
            SearchPipelinePlugin.Parameters parameters) {
        return gateway.requestProcessors();
    }

    @Override
    public Map<String, org.opensearch.search.pipeline.Processor.Factory<SearchResponseProcessor>> getResponseProcessors(
            SearchPipelinePlugin.Parameters parameters) {
        return gateway.responseProcessors();
    }

    @Override
    public Collection<SystemIndexDescriptor> getSystemIndexDescriptors(Settings settings) {
        return gateway.systemIndices();
    }

    @Override
    public void close() {
        gateway.close();
    }
}
