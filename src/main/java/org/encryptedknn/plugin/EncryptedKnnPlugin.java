package org.encryptedknn.plugin;

import org.encryptedknn.index.EncryptedKnnCodecService;
import org.encryptedknn.index.EncryptedKnnQueryBuilder;
import org.encryptedknn.index.EncryptedKnnVectorFieldMapper;
import org.encryptedknn.rest.RestEncryptedKnnStatsAction;
import org.encryptedknn.search.CkksFetchSubPhase;
import org.encryptedknn.search.EncryptedKnnRescorerBuilder;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.node.DiscoveryNodes;
import org.opensearch.common.settings.ClusterSettings;
import org.opensearch.common.settings.IndexScopedSettings;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.settings.SettingsFilter;
import org.opensearch.index.IndexModule;
import org.opensearch.index.IndexSettings;
import org.opensearch.index.codec.CodecServiceFactory;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.EnginePlugin;
import org.opensearch.plugins.MapperPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;
import org.opensearch.rest.RestController;
import org.opensearch.rest.RestHandler;
import org.opensearch.search.fetch.FetchSubPhase;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The storage-side plugin {@code encrypted-knn}: field type {@code encrypted_knn_vector}, its codec
 * ({@code index.encrypted_knn: true}), the {@code encrypted_knn} query, the {@code encrypted_knn} rescorer and
 * {@code GET _plugins/encrypted_knn/stats}. Nothing here holds or needs a key.
 */
public class EncryptedKnnPlugin extends Plugin implements MapperPlugin, SearchPlugin, EnginePlugin, ActionPlugin {

    public EncryptedKnnPlugin() {
        NativeMemoryHook.install();
    }

    @Override
    public List<Setting<?>> getSettings() {
        return List.of(EncryptedKnnSettings.INDEX_ENCRYPTED_KNN_SETTING);
    }

    @Override
    public Map<String, Mapper.TypeParser> getMappers() {
        return Map.of(EncryptedKnnVectorFieldMapper.CONTENT_TYPE, new EncryptedKnnVectorFieldMapper.TypeParser());
    }

    @Override
    public List<QuerySpec<?>> getQueries() {
        return List.of(new QuerySpec<>(EncryptedKnnQueryBuilder.NAME, EncryptedKnnQueryBuilder::new, EncryptedKnnQueryBuilder::fromXContent));
    }

    @Override
    public List<RescorerSpec<?>> getRescorers() {
        return List.of(
            new RescorerSpec<>(EncryptedKnnRescorerBuilder.NAME, EncryptedKnnRescorerBuilder::new, EncryptedKnnRescorerBuilder::fromXContent)
        );
    }

    /** Attaches the ckks-mode result ciphertexts to the returned hits (docs/ckks-mode.md). */
    @Override
    public List<FetchSubPhase> getFetchSubPhases(FetchPhaseConstructionContext context) {
        return List.of(new CkksFetchSubPhase());
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
        EncryptedKnnSettings.checkNotCombinedWithOpenSearchKnn(indexSettings.getIndex().getName(), indexSettings.getSettings());
        return Optional.of(EncryptedKnnCodecService::new);
    }

    @Override
    public void onIndexModule(IndexModule indexModule) {
        EncryptedKnnSettings.checkNotCombinedWithOpenSearchKnn(indexModule.getIndex().getName(), indexModule.getSettings());
    }

    @Override
    public List<RestHandler> getRestHandlers(
        Settings settings,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<DiscoveryNodes> nodesInCluster
    ) {
        return List.of(new RestEncryptedKnnStatsAction(nodesInCluster));
    }
}
