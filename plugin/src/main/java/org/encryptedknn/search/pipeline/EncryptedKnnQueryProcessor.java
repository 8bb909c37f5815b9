package org.encryptedknn.search.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.keystore.ProcessorConfig;
import org.encryptedknn.keystore.Records;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.query.EncryptedKnnQueryBuilder;
import org.encryptedknn.rescore.KeyedRescorePayload;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.SearchMode;
import org.encryptedknn.transform.VectorTransform;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.common.regex.Regex;
import org.opensearch.core.action.ActionListener;
import org.opensearch.index.query.BoolQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.fetch.subphase.FetchSourceContext;
import org.opensearch.search.pipeline.PipelineProcessingContext;
import org.opensearch.search.pipeline.Processor;
import org.opensearch.search.pipeline.SearchRequestProcessor;

/**
 * Search request processor {@code encrypted_knn_query}:
 * {@code {"model_id":"m1","mode":"key_holder","probe_cells":8,"deterministic_fields":["sender"]}}.
 *
 * <p>Finds the {@code encrypted_knn} query that carries a plain {@code "vector"} (top level, or in {@code bool} clauses
 * at any depth), and on the coordinating node, under the leased key:
 * <ol>
 *   <li>encrypts it (SAP query ciphertext of the rotated prefix, model's current epoch) and replaces it with
 *       {@code encrypted_vector} + {@code model_id}, and {@code k} with the model's calibrated default window for the
 *       searched indices' document count if the query left it out ({@link #window}, {@link IndexDocCounts}); after a rotation, with a {@code bool} of one epoch-filtered
 *       query per live epoch (first epoch … current; {@code _retire} raises the first), each encrypted under its
 *       epoch, so records not yet re-keyed are still found;</li>
 *   <li>adds what the {@code mode} ({@link SearchMode}) sends besides that query ({@link GatewayRescoring}):
 *       {@code key_holder} (default) nothing about the query: the shards return the window (live epochs × k) ordered
 *       by the prefix approximation, each hit with its record in binary ({@code fetch.HitRecordsExt}), and
 *       {@code encrypted_knn_rerank} scores exactly; {@code ckks} a rescore with the {@code probe_cells} cells' residual queries H_c r_q as CKKS
 *       ciphertexts under this node's {@link GatewayCkks} key (data nodes see neither them nor any score);
 *       {@code keyed_leaks_query_residuals} the same residual queries in clear, so shards and the cross-shard merge
 *       order candidates by exact scores, at the price of showing the data nodes H_c r_q and the scores;</li>
 *   <li>asks for {@code size} = max(live epochs × k, from + size) from 0, so the response processor sees every
 *       candidate, without {@code _source}: the records travel in the hits' {@code _encrypted_knn} field, and the
 *       caller's {@code _source} is read by {@code encrypted_knn_rerank} for the final page only (kept on the window
 *       when the request highlights);</li>
 *   <li>rewrites {@code term}/{@code terms} on {@code deterministic_fields} to their AES-SIV form;</li>
 *   <li>stores the query's secrets, the caller's from/size and the key lease in the
 *       {@link PipelineProcessingContext} for {@code encrypted_knn_rerank}.</li>
 * </ol>
 * A request without a plain-vector {@code encrypted_knn} query passes unchanged (apart from the term rewrite).
 */
public final class EncryptedKnnQueryProcessor extends GatewaySearchProcessor implements SearchRequestProcessor {

    public static final String TYPE = "encrypted_knn_query";
    public static final int DEFAULT_PROBE_CELLS = 8;
    static final int DEFAULT_SIZE = 10;

    private final int probeCells;
    private final SearchMode mode;
    private final GatewayCkks ckks;
    private final Set<String> deterministicFields;
    private final IndexDocCounts docCounts;

    EncryptedKnnQueryProcessor(
            String tag,
            String description,
            boolean ignoreFailure,
            NodeKeyHolder gateway,
            String modelId,
            int probeCells,
            SearchMode mode,
            GatewayCkks ckks,
            Set<String> deterministicFields,
            IndexDocCounts docCounts) {
        super(TYPE, tag, description, ignoreFailure, gateway, modelId);
        this.probeCells = probeCells;
        this.mode = mode;
        this.ckks = ckks;
        this.deterministicFields = deterministicFields;
        this.docCounts = docCounts;
    }

    @Override
    public SearchRequest processRequest(SearchRequest request) {
        throw new UnsupportedOperationException("[" + TYPE + "] runs asynchronously (processRequestAsync)");
    }

    @Override
    public void processRequestAsync(
            SearchRequest request, PipelineProcessingContext context, ActionListener<SearchRequest> listener) {
        SearchSourceBuilder source = request.source();
        List<EncryptedKnnQueryBuilder> plain;
        try {
            plain = source == null ? List.of() : findPlain(source.query(), new ArrayList<>());
            if (plain.size() > 1) {
                throw new IllegalArgumentException(
                        "[" + TYPE + "] handles one [encrypted_knn] query with a plain [vector] per request, found "
                                + plain.size());
            }
        } catch (Exception e) {
            listener.onFailure(e);
            return;
        }
        if (plain.isEmpty() && deterministicFields.isEmpty()) {
            listener.onResponse(request);
            return;
        }
        KeyLease lease;
        try {
            lease = gateway.acquire();
        } catch (Exception e) {
            listener.onFailure(e);
            return;
        }
        if (plain.isEmpty()) {
            // Only term filters to rewrite: the key is not needed after this, so the lease ends here.
            try (lease) {
                rewriteTerms(source, lease);
            } catch (Exception e) {
                listener.onFailure(e);
                return;
            }
            listener.onResponse(request);
            return;
        }
        EncryptedKnnQueryBuilder knn = plain.get(0);
        gateway.model(lease, modelId, new ActionListener<>() {
            @Override
            public void onResponse(CachedModel model) {
                if (knn.k() != EncryptedKnnQueryBuilder.MODEL_DEFAULT_K) {
                    rewriteAndRespond(model, 0);
                    return;
                }
                // the default window grows with the index: look its size up (cached)
                docCounts.count(
                        request.indices(), ActionListener.wrap(n -> rewriteAndRespond(model, n), this::onFailure));
            }

            private void rewriteAndRespond(CachedModel model, long documents) {
                try {
                    rewrite(source, knn, model, lease, context, documents);
                } catch (Exception e) {
                    lease.close();
                    listener.onFailure(e);
                    return;
                }
                listener.onResponse(request);
            }

            @Override
            public void onFailure(Exception e) {
                lease.close();
                listener.onFailure(e);
            }
        });
    }

    private void rewriteTerms(SearchSourceBuilder source, KeyLease lease) {
        DeterministicTerms terms = new DeterministicTerms(deterministicFields, lease);
        if (source.query() != null) {
            source.query(terms.rewrite(source.query()));
        }
        if (source.postFilter() != null) {
            source.postFilter(terms.rewrite(source.postFilter()));
        }
    }

    private void rewrite(
            SearchSourceBuilder source,
            EncryptedKnnQueryBuilder knn,
            CachedModel model,
            KeyLease lease,
            PipelineProcessingContext context,
            long documents) {
        EncryptionModel m = model.model();
        String field = knn.fieldName();
        float[] vector = knn.plainVector();
        Records.checkVector(
                vector,
                "[encrypted_knn] [vector] on field [" + field + "]",
                m.parameters().dimension());
        if (source.rescores() != null && source.rescores().isEmpty() == false) {
            throw new IllegalArgumentException(
                    "[" + TYPE + "] adds its own [encrypted_knn] rescore; remove [rescore] from the request");
        }
        // the hits' records come in their per-hit field, not in _source; the caller's _source is read for the final
        // page only, after the rerank (a highlighter reads the window's sources itself: then they come with the hits)
        FetchSourceContext fetch = source.fetchSource();
        boolean sourceDisabled = fetch != null && fetch.fetchSource() == false;
        boolean vectorRequested = fetch == null
                || (sourceDisabled == false
                        && includes(fetch.includes(), field)
                        && excludedBy(fetch.excludes(), field) == null);
        FetchSourceContext pageSource = sourceDisabled || source.highlighter() != null
                ? null
                : fetch == null ? FetchSourceContext.FETCH_SOURCE : fetch;

        VectorTransform transform = model.transform();
        gateway.warmUpForSearch(model);
        EncryptedQuery query;
        try {
            query = transform.encryptQuery(vector);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "[encrypted_knn] [vector] on field [" + field + "]: " + e.getMessage(), e);
        }
        int from = Math.max(0, source.from());
        int size = source.size() < 0 ? DEFAULT_SIZE : source.size();
        GatewayRescoring rescoring = GatewayRescoring.forSearch(mode, field, probeCells, ckks, m.residualLength());
        GatewayQueryState state = new GatewayQueryState(
                lease, model, field, query, vector, from, size, vectorRequested, sourceDisabled, rescoring, pageSource);
        boolean stored = false;
        try {
            // 1. the stage-1 query: encrypted prefix, bound to the model (a field of another model is a 400 on the
            // shard). Prefix rotation and SAP scale differ per epoch, so an index still holding records of older epochs
            // (after a _rotate, until the re-key is done) is searched with one epoch-filtered clause per live epoch,
            // each under its keys; epochs retired by _retire are not searched at all.
            int first = m.parameters().firstEpoch();
            int epochs = model.epoch() - first + 1;
            int k = Math.max(
                    window(knn, m, documents),
                    context.getAttribute(MIN_WINDOW) instanceof Integer least ? Math.min(least, MAX_WINDOW) : 1);
            QueryBuilder stage1;
            if (model.epoch() == 1) {
                stage1 = knn.withEncryptedVector(query.prefix(), m.id(), null, k);
            } else if (epochs == 1) {
                stage1 = knn.withEncryptedVector(query.prefix(), m.id(), model.epoch(), k);
            } else {
                BoolQueryBuilder anyEpoch = new BoolQueryBuilder();
                for (int e = first; e <= model.epoch(); e++) {
                    anyEpoch.should(knn.withEncryptedVector(state.queryFor(e).prefix(), m.id(), e, k));
                }
                stage1 = anyEpoch;
            }
            source.query(replace(source.query(), knn, stage1));
            rewriteTerms(source, lease);

            // 2. what the mode adds for the current epoch's window (key_holder: the request for the hits' records);
            // hits of older epochs get their exact score from encrypted_knn_rerank, which sees them all
            int window = epochs * k;
            rescoring.addToRequest(source, query, transform, window);

            // 3. every epoch's candidates come back, from 0, without _source when the page's is read afterwards
            source.from(0);
            source.size(Math.max(window, from + size));
            if (pageSource != null) {
                source.fetchSource(FetchSourceContext.DO_NOT_FETCH_SOURCE);
            }

            context.setAttribute(GatewayQueryState.ATTRIBUTE, state);
            stored = true;
        } finally {
            if (stored == false) {
                state.close();
            }
        }
    }

    /**
     * A processing-context attribute (Integer) that raises the window to at least that many candidates: the drop-in
     * {@code knn} query's k, the number of hits its caller wants ({@link KnnQueryTranslation#k}).
     */
    static final String MIN_WINDOW = "encrypted_knn.min_window";

    private static final int MAX_WINDOW = EncryptedKnnQueryBuilder.MAX_K;

    /**
     * The query's {@code k}, or when it left k out the model's calibrated default window for an index of
     * {@code documents} documents ({@link EncryptionModel#defaultWindow}; 100 for a model fitted before
     * calibration), at most {@code num_candidates} if that is set.
     */
    static int window(EncryptedKnnQueryBuilder knn, EncryptionModel model, long documents) {
        if (knn.k() != EncryptedKnnQueryBuilder.MODEL_DEFAULT_K) {
            return knn.k();
        }
        int k = model.defaultWindow(documents);
        return knn.numCandidates() == null ? k : Math.min(k, knn.numCandidates());
    }

    static boolean includes(String[] includes, String field) {
        if (includes == null || includes.length == 0) {
            return true;
        }
        for (String pattern : includes) {
            if (Regex.simpleMatch(pattern, field) || field.startsWith(pattern + ".")) {
                return true;
            }
        }
        return false;
    }

    static String excludedBy(String[] excludes, String field) {
        if (excludes == null) {
            return null;
        }
        for (String pattern : excludes) {
            if (Regex.simpleMatch(pattern, field) || field.startsWith(pattern + ".")) {
                return pattern;
            }
        }
        return null;
    }

    static List<EncryptedKnnQueryBuilder> findPlain(QueryBuilder q, List<EncryptedKnnQueryBuilder> out) {
        if (q instanceof EncryptedKnnQueryBuilder knn) {
            if (knn.plainVector() != null) {
                out.add(knn);
            }
        } else if (q instanceof BoolQueryBuilder bool) {
            for (List<QueryBuilder> clauses : List.of(bool.must(), bool.filter(), bool.should(), bool.mustNot())) {
                for (QueryBuilder c : clauses) {
                    findPlain(c, out);
                }
            }
        }
        return out;
    }

    static QueryBuilder replace(QueryBuilder q, QueryBuilder old, QueryBuilder replacement) {
        if (q == old) {
            return replacement;
        }
        if (q instanceof BoolQueryBuilder bool) {
            for (List<QueryBuilder> clauses : List.of(bool.must(), bool.filter(), bool.should(), bool.mustNot())) {
                for (int i = 0; i < clauses.size(); i++) {
                    clauses.set(i, replace(clauses.get(i), old, replacement));
                }
            }
        }
        return q;
    }

    /** Factory; the processor needs the key only when it runs, not when the pipeline is stored. */
    public static Processor.Factory<SearchRequestProcessor> factory(NodeKeyHolder gateway, GatewayCkks ckks) {
        IndexDocCounts docCounts = new IndexDocCounts(gateway::client);
        return (processorFactories, tag, description, ignoreFailure, config, pipelineContext) -> {
            String modelId = ProcessorConfig.modelId(TYPE, tag, config);
            int probe = ConfigurationUtils.readIntProperty(TYPE, tag, config, "probe_cells", DEFAULT_PROBE_CELLS);
            if (probe < 1 || probe > KeyedRescorePayload.MAX_CELLS) {
                throw ConfigurationUtils.newConfigurationException(
                        TYPE, tag, "probe_cells", "must be in [1, " + KeyedRescorePayload.MAX_CELLS + "]");
            }
            SearchMode mode;
            try {
                mode = SearchMode.fromString(ConfigurationUtils.readStringProperty(
                        TYPE, tag, config, "mode", SearchMode.KEY_HOLDER.wireName()));
            } catch (IllegalArgumentException e) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "mode", e.getMessage());
            }
            Set<String> fields = Set.copyOf(ProcessorConfig.fieldNames(TYPE, tag, config, "deterministic_fields"));
            return new EncryptedKnnQueryProcessor(
                    tag, description, ignoreFailure, gateway, modelId, probe, mode, ckks, fields, docCounts);
        };
    }
}
