package org.encryptedknn.search.pipeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.Space;
import org.encryptedknn.query.EncryptedKnnQueryBuilder;
import org.encryptedknn.settings.DropInMapping;
import org.encryptedknn.settings.EncryptedKnnSettings;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.SearchMode;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.cluster.ClusterState;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.metadata.MappingMetadata;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.index.Index;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.search.SearchHit;
import org.opensearch.search.SearchHits;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.pipeline.PipelineProcessingContext;

/**
 * The search half of the drop-in opt-in ({@code index.encrypted_knn.model_id}): the k-NN plugin's {@code knn} query on
 * an encrypted field of an opted-in index, answered as the k-NN plugin would answer it on the plaintext index.
 *
 * <p>Run by {@code dropin.DropInActionFilter} on the coordinating node's search action, not by a search pipeline: it runs before any pipeline,
 * whichever one the request names ({@code ?search_pipeline=} replaces the index default) and whatever
 * {@code cluster.search.enabled_system_generated_factories} says (system-generated search processors are off by
 * default in 3.5, and a drop-in that waits for an operator to switch them on would send plaintext vectors to data nodes
 * until then). It is a request-side translation into the gateway path that already exists:
 * <ol>
 *   <li>{@link KnnQueryTranslation}: {@code knn} → the plain-vector {@code encrypted_knn} query, anywhere in the
 *       query tree; a top-level {@code min_score} is held back (the shards' scores are prefix approximations), and an
 *       {@code _source} exclude of the vector field is turned into the rerank processor's {@code remove_vector};</li>
 *   <li>{@link EncryptedKnnQueryProcessor} encrypts the query (under the key of this node: no key, a 400 and nothing
 *       leaves the node) and shapes the request, exactly as in a gateway search pipeline;</li>
 *   <li>the response goes through {@link EncryptedKnnRerankProcessor} (exact scores, the caller's page), then
 *       {@link KnnScores} puts the scores in the k-NN plugin's convention for the field's space and the held-back
 *       {@code min_score} is applied.</li>
 * </ol>
 * A request naming no opted-in index, or no {@code knn} on an encrypted field, passes untouched.
 */
public final class DropInKnnSearch {

    private final org.encryptedknn.keystore.NodeKeyHolder gateway;
    private final GatewayCkks ckks;
    private final IndexDocCounts docCounts; // for the model's calibrated window, shared by every request
    private volatile ClusterService clusterService;
    private volatile IndexNameExpressionResolver resolver;
    private volatile NamedXContentRegistry registry;

    /** Per index UUID: the mapping version the fields were read at, and its encrypted fields. */
    private record IndexFields(long mappingVersion, Map<String, DropInMapping.VectorField> fields) {}

    private final Map<String, IndexFields> fieldsByIndex = new ConcurrentHashMap<>();

    public DropInKnnSearch(org.encryptedknn.keystore.NodeKeyHolder gateway, GatewayCkks ckks) {
        this.gateway = gateway;
        this.ckks = ckks;
        this.docCounts = new IndexDocCounts(gateway::client);
    }

    /** Called once the node's services exist (the action filter is registered before them). */
    public void start(
            ClusterService clusterService, IndexNameExpressionResolver resolver, NamedXContentRegistry registry) {
        this.clusterService = clusterService;
        this.resolver = resolver;
        this.registry = registry;
    }

    /**
     * Takes over a search request that has a {@code knn} query on an encrypted field of an opted-in index: encrypts
     * it, then calls {@code proceed} with the listener that finishes the response. Returns false (and does nothing)
     * for any other request.
     */
    public boolean intercept(
            ActionRequest request,
            ActionListener<SearchResponse> listener,
            Consumer<ActionListener<SearchResponse>> proceed) {
        if (clusterService == null || !(request instanceof SearchRequest search)) {
            return false;
        }
        DropInSearch dropIn;
        try {
            dropIn = prepare(search);
        } catch (Exception e) {
            listener.onFailure(e);
            return true;
        }
        if (dropIn == null) {
            return false;
        }
        dropIn.encrypt(ActionListener.wrap(
                encrypted -> proceed.accept(ActionListener.wrap(response -> dropIn.finish(response, listener), e -> {
                    dropIn.abandon();
                    listener.onFailure(e);
                })),
                listener::onFailure));
        return true;
    }

    /** The drop-in work for this request, or null when it has nothing to do with it. */
    private DropInSearch prepare(SearchRequest search) throws IOException {
        SearchSourceBuilder source = search.source();
        if (source == null || source.query() == null) {
            return null;
        }
        ClusterState state = clusterService.state();
        Index[] indices;
        try {
            indices = resolver.concreteIndices(state, search);
        } catch (RuntimeException e) {
            return null; // the search itself reports unknown indices
        }
        List<Map<String, DropInMapping.VectorField>> perIndex = new ArrayList<>();
        boolean anyOptedIn = false;
        for (Index index : indices) {
            IndexMetadata metadata = state.metadata().index(index);
            Map<String, DropInMapping.VectorField> fields = metadata == null ? Map.of() : encryptedFields(metadata);
            anyOptedIn |= fields.isEmpty() == false;
            perIndex.add(fields);
        }
        if (anyOptedIn == false) {
            return null;
        }
        Map<String, Object> body = toMap(source);
        Object query = body.get("query");
        KnnQueryTranslation translation =
                KnnQueryTranslation.translate(query, field -> perIndex.stream().anyMatch(f -> f.containsKey(field)));
        if (translation.field == null) {
            return null;
        }
        String field = translation.field;
        DropInMapping.VectorField vectorField = null;
        for (int i = 0; i < indices.length; i++) {
            DropInMapping.VectorField f = perIndex.get(i).get(field);
            if (f == null || (vectorField != null && vectorField.equals(f) == false)) {
                throw new IllegalArgumentException("[knn] on field [" + field + "]: the request targets indices where ["
                        + field + "] is encrypted under different models or space types, or not encrypted (index ["
                        + indices[i].getName() + "]); search them separately");
            }
            vectorField = f;
        }
        if (search.scroll() != null) {
            throw new IllegalArgumentException("[knn] on encrypted field [" + field + "] cannot be scrolled");
        }
        return new DropInSearch(search, body, translation, vectorField);
    }

    private Map<String, DropInMapping.VectorField> encryptedFields(IndexMetadata metadata) {
        String model = EncryptedKnnSettings.dropInModel(metadata.getSettings());
        if (model == null) {
            return Map.of();
        }
        IndexFields cached = fieldsByIndex.get(metadata.getIndexUUID());
        if (cached == null || cached.mappingVersion() != metadata.getMappingVersion()) {
            MappingMetadata mapping = metadata.mapping();
            Map<String, DropInMapping.VectorField> fields = mapping == null
                    ? Map.of()
                    : Map.copyOf(DropInMapping.vectorFields(List.of(mapping.sourceAsMap()), model));
            cached = new IndexFields(metadata.getMappingVersion(), fields);
            fieldsByIndex.put(metadata.getIndexUUID(), cached);
        }
        return cached.fields();
    }

    /** One search through the drop-in path: the processors' shared context, and what the caller asked for. */
    /** The name of the caller's compound query around the knn, as the shards' optional clause. */
    static final String COMPOUND = "encrypted_knn.drop_in.compound";

    private static final int DEFAULT_SIZE = 10;

    private final class DropInSearch {
        private final SearchRequest search;
        private final SearchSourceBuilder source;
        private final int from;
        private final int size;
        /** The rerank returns the top of the window from 0 and the page is cut here (else the rerank cut it). */
        private final boolean pagedHere;

        private final KnnQueryTranslation translation;
        private final Object queryTree;
        private final Float minScore;
        private final PipelineProcessingContext context = new PipelineProcessingContext();
        private final EncryptedKnnQueryProcessor queryProcessor;
        private final EncryptedKnnRerankProcessor rerankProcessor;
        /** The query vector when the field's space_type is l2 (k-NN's l2 scores of this query), else null. */
        private final List<?> l2Query;

        private KnnScores scores;
        private VectorReadBack readBack;
        /** The caller's {@code _source.excludes} named the vector field. */
        private final boolean excluded;
        /** The knn sat inside a compound query, carried as the named clause {@link #COMPOUND}. */
        private boolean compound;

        DropInSearch(
                SearchRequest search,
                Map<String, Object> body,
                KnnQueryTranslation translation,
                DropInMapping.VectorField vectorField)
                throws IOException {
            String model = vectorField.modelId();
            this.search = search;
            this.translation = translation;
            this.l2Query = vectorField.l2() ? queryVector(translation) : null;
            this.queryTree = body.remove("query");
            this.minScore = body.remove("min_score") instanceof Number n ? n.floatValue() : null;
            this.excluded = dropExclusion(body, translation.field);
            this.source = parseSource(body);
            // k-NN's order: the knn's top k, then the rest of the query and min_score, then from/size; so the rerank
            // returns the top max(k, from + size) and the page is cut here
            this.from = Math.max(0, source.from());
            this.size = source.size() < 0 ? DEFAULT_SIZE : source.size();
            // only what removes hits after the knn (a compound query, min_score) needs the whole top k before the page;
            // otherwise the rerank pages as asked and reads no more _source than the page's
            this.pagedHere = minScore != null || translation.slot != queryTree;
            if (pagedHere) {
                source.from(0);
                source.size(Math.max(translation.k, from + size));
            }
            context.setAttribute(EncryptedKnnQueryProcessor.MIN_WINDOW, translation.k);
            this.queryProcessor = new EncryptedKnnQueryProcessor(
                    null,
                    "drop-in [knn] on [" + translation.field + "]",
                    false,
                    gateway,
                    model,
                    EncryptedKnnQueryProcessor.DEFAULT_PROBE_CELLS,
                    SearchMode.KEY_HOLDER,
                    ckks,
                    Set.of(),
                    docCounts);
            this.rerankProcessor = new EncryptedKnnRerankProcessor(
                    null, "drop-in [knn] on [" + translation.field + "]", false, gateway, model, List.of(), excluded);
        }

        /** Encrypts the query (the processor sees it alone, then it goes back in its place in the caller's tree). */
        void encrypt(ActionListener<SearchRequest> listener) {
            try {
                source.query(parseQuery(translation.slot));
            } catch (IOException | RuntimeException e) {
                listener.onFailure(e);
                return;
            }
            search.source(source);
            queryProcessor.processRequestAsync(
                    search,
                    context,
                    ActionListener.wrap(
                            r -> {
                                try {
                                    if (translation.slot != queryTree) {
                                        source.query(parseQuery(compound(toMap(source.query()))));
                                    }
                                    GatewayQueryState state =
                                            (GatewayQueryState) context.getAttribute(GatewayQueryState.ATTRIBUTE);
                                    Space space =
                                            state.model.model().parameters().space();
                                    if (l2Query != null && space != Space.COSINE) { // a field mapped by hand
                                        throw new IllegalArgumentException("[knn] on field [" + translation.field
                                                + "]: [space_type: l2] needs a cosine model, and ["
                                                + state.model.model().id() + "] is " + space.wireName());
                                    }
                                    scores = l2Query != null ? KnnScores.l2(l2Query) : KnnScores.of(space);
                                    if (state.vectorRequested && excluded == false) {
                                        // the caller reads the vector back (LangChain's MMR does): decrypted after
                                        // the rerank, under a lease of our own (the rerank releases the query's)
                                        readBack = new VectorReadBack(state.model, gateway.acquire());
                                    }
                                } catch (Exception e) {
                                    abandon();
                                    listener.onFailure(e);
                                    return;
                                }
                                listener.onResponse(r);
                            },
                            listener::onFailure));
        }

        /** Reranks (the rerank reads the page's {@code _source} asynchronously), then applies k-NN's conventions. */
        void finish(SearchResponse response, ActionListener<SearchResponse> listener) {
            rerankProcessor.processResponseAsync(
                    search,
                    response,
                    context,
                    ActionListener.runAfter(
                            ActionListener.wrap(
                                    reranked -> listener.onResponse(finishOpen(reranked)), listener::onFailure),
                            this::abandon));
        }

        private SearchResponse finishOpen(SearchResponse reranked) {
            SearchHits hits = reranked.getHits();
            if (hits == null) {
                return reranked;
            }
            List<SearchHit> kept = new ArrayList<>();
            SearchHit[] ranked = hits.getHits();
            int first = pagedHere ? 0 : from; // the rank of ranked[0] among all the knn's hits
            for (int i = 0; i < ranked.length && first + i < translation.k; i++) { // the knn's top k
                SearchHit hit = ranked[i];
                if (compound && Arrays.asList(hit.getMatchedQueries()).contains(COMPOUND) == false) {
                    continue;
                }
                float score = scores.score(hit.getScore());
                hit.score(score);
                if (minScore == null || score >= minScore) {
                    kept.add(hit);
                }
            }
            List<SearchHit> page =
                    pagedHere ? kept.subList(Math.min(from, kept.size()), Math.min(from + size, kept.size())) : kept;
            if (readBack != null) {
                for (SearchHit hit : page) {
                    readBack.decrypt(hit, translation.field);
                }
            }
            float max = pagedHere
                    ? (kept.isEmpty() ? Float.NaN : kept.get(0).getScore()) // of the hits that matched
                    : (Float.isNaN(hits.getMaxScore()) ? Float.NaN : scores.score(hits.getMaxScore()));
            return EncryptedKnnRerankProcessor.replaceHits(
                    reranked,
                    new SearchHits(
                            page.toArray(SearchHit[]::new),
                            hits.getTotalHits(),
                            max,
                            hits.getSortFields(),
                            hits.getCollapseField(),
                            hits.getCollapseValues()));
        }

        /**
         * The knn inside a compound query: k-NN answers the compound over the knn's own top k. The shards get the
         * encrypted query as the only scoring clause and the caller's query, its knn replaced by {@code match_all}, as
         * a named optional clause; {@link #finishOpen} keeps the top k by exact score and of those the ones it matched.
         * {@code hybrid} (neural-search's, which must stay at the top) keeps the knn in its place.
         */
        private Object compound(Map<String, Object> encrypted) {
            translation.slot.clear();
            if (queryTree instanceof Map<?, ?> top && top.containsKey("hybrid")) {
                translation.slot.putAll(encrypted);
                compound = false;
                return queryTree;
            }
            translation.slot.put("match_all", new LinkedHashMap<>());
            Map<String, Object> named = new LinkedHashMap<>();
            named.put("filter", List.of(queryTree));
            named.put("_name", COMPOUND);
            Map<String, Object> bool = new LinkedHashMap<>();
            bool.put("must", List.of(encrypted));
            bool.put("should", List.of(Map.of("bool", named)));
            compound = true;
            return Map.of("bool", bool);
        }

        /** Releases what is still held (the search failed between the two halves, or is done). Idempotent. */
        void abandon() {
            if (context.getAttribute(GatewayQueryState.ATTRIBUTE) instanceof GatewayQueryState state) {
                context.setAttribute(GatewayQueryState.ATTRIBUTE, null);
                state.close();
            }
            if (readBack != null) {
                readBack.lease().close();
                readBack = null;
            }
        }
    }

    /**
     * The plaintext query vector of the translated knn, read before the slot takes the encrypted query; the query
     * processor checks it (numbers, the model's dimension) before any score is computed from it.
     */
    private static List<?> queryVector(KnnQueryTranslation translation) {
        Object query = translation.slot.get(EncryptedKnnQueryBuilder.NAME);
        Object body = query instanceof Map<?, ?> q ? q.get(translation.field) : null;
        return body instanceof Map<?, ?> b && b.get("vector") instanceof List<?> vector ? vector : List.of();
    }

    /** Puts the decrypted vector in a hit's {@code _source} in place of its record (the key holder's caller asked). */
    private record VectorReadBack(CachedModel model, KeyLease lease) {
        void decrypt(SearchHit hit, String field) {
            if (hit.hasSource() == false) {
                return;
            }
            Map<String, Object> source = hit.getSourceAsMap();
            Map<String, Object> parent = source;
            String[] path = field.split("\\.");
            for (int i = 0; i < path.length - 1 && parent != null; i++) {
                parent = parent.get(path[i]) instanceof Map<?, ?> m ? asMap(m) : null;
            }
            Object value = parent == null ? null : parent.get(path[path.length - 1]);
            if (RecordFormat.looksLikeRecord(value) == false) {
                return;
            }
            EncryptionModel m = model.model();
            EncryptedVector record = RecordFormat.fromMap(value, "field [" + field + "]", RecordFormat.Shape.of(m));
            if (m.parameters().isLiveEpoch(record.epoch()) == false) {
                return; // a retired epoch's keys are no longer used: the record stays as it is
            }
            float[] x = model.transform(record.epoch()).decryptDocument(record);
            List<Float> vector = new ArrayList<>(x.length);
            for (float f : x) {
                vector.add(f);
            }
            parent.put(path[path.length - 1], vector);
            try (XContentBuilder builder = JsonXContent.contentBuilder()) {
                builder.map(source);
                hit.sourceRef(BytesReference.bytes(builder));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @SuppressWarnings("unchecked")
        private static Map<String, Object> asMap(Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
    }

    static Map<String, Object> toMap(ToXContent content) throws IOException {
        BytesReference bytes = XContentHelper.toXContent(content, XContentType.JSON, false);
        return XContentHelper.convertToMap(bytes, true, XContentType.JSON).v2();
    }

    private XContentParser parser(Object map) throws IOException {
        XContentBuilder builder = JsonXContent.contentBuilder();
        builder.value(map);
        return JsonXContent.jsonXContent.createParser(
                registry,
                DeprecationHandler.THROW_UNSUPPORTED_OPERATION,
                BytesReference.bytes(builder).streamInput());
    }

    private QueryBuilder parseQuery(Object map) throws IOException {
        try (XContentParser parser = parser(map)) {
            return AbstractQueryBuilder.parseInnerQueryBuilder(parser);
        }
    }

    private SearchSourceBuilder parseSource(Map<String, Object> body) throws IOException {
        try (XContentParser parser = parser(new HashMap<>(body))) {
            return SearchSourceBuilder.fromXContent(parser);
        }
    }

    /**
     * Removes an exclude of exactly {@code field} from the request body's {@code _source} (the rerank needs the
     * record, and drops the field from the answer instead); returns whether there was one. A wildcard that hides the
     * field stays, and {@link EncryptedKnnQueryProcessor} answers it with a 400.
     */
    static boolean dropExclusion(Map<String, Object> body, String field) {
        if (body.get("_source") instanceof Map<?, ?> fetch && fetch.get("excludes") instanceof List<?> excludes) {
            List<Object> rest = new ArrayList<>(excludes);
            if (rest.remove(field)) {
                @SuppressWarnings("unchecked")
                Map<String, Object> f = (Map<String, Object>) fetch;
                f.put("excludes", rest);
                return true;
            }
        }
        return false;
    }
}
