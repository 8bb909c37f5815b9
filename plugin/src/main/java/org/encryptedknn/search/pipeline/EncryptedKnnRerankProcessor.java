package org.encryptedknn.search.pipeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.keystore.ProcessorConfig;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.protocol.HitField;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.action.get.GetResponse;
import org.opensearch.action.get.MultiGetItemResponse;
import org.opensearch.action.get.MultiGetRequest;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.search.SearchResponseSections;
import org.opensearch.common.CheckedSupplier;
import org.opensearch.common.document.DocumentField;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.common.xcontent.support.XContentMapValues;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.mapper.RoutingFieldMapper;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.search.SearchHit;
import org.opensearch.search.SearchHits;
import org.opensearch.search.pipeline.PipelineProcessingContext;
import org.opensearch.search.pipeline.Processor;
import org.opensearch.search.pipeline.SearchResponseProcessor;
import org.opensearch.search.profile.SearchProfileShardResults;

/**
 * Search response processor {@code encrypted_knn_rerank}: {@code {"model_id":"m1","decrypt_fields":["body"],"remove_vector":false}}.
 *
 * <p>With the state left by {@code encrypted_knn_query} in the same pipeline (same key generation, same query), for
 * every candidate hit it computes the exact plaintext similarity from the binary record in the hit's
 * {@code _encrypted_knn} field (never from {@code _source}): the prefix term by SAP-decrypting p with its nonce, the
 * residual term ⟨H_c r_q, z⟩ under the record's own cell and epoch (H_c r_q once per cell and epoch) — exact whichever
 * cells were probed. In {@code keyed_leaks_query_residuals} mode a probed hit's residual term is the data node's; in
 * {@code ckks} mode it is the data node's encrypted result, decrypted here (each batch ciphertext once); a hit without
 * one carries z ({@link GatewayRescoring}). Hits are re-sorted by it (ties keep the server's order), cut to the caller's
 * {@code from}/{@code size}, and get it as {@code _score}; {@code max_score} is the best exact score. Hits without a
 * record (documents indexed without the vector, matched by another clause) follow the scored ones with their server
 * score, and so do records of a retired epoch, whose keys are no longer used. When {@code encrypted_knn_query} searched
 * the window without {@code _source}, the page's hits get theirs here, as the caller asked for it (one multi-get, not
 * realtime, each hit's routing), so k candidates' sources are never loaded for a page of 10. The listed fields are decrypted in
 * {@code _source} (AES-GCM with the hit's index, _id and the field as associated data, or AES-SIV); the encrypted vector is removed from {@code _source} when {@code remove_vector} is true or the caller's
 * source filter did not ask for it.
 *
 * <p>Without {@code encrypted_knn_query} state (a search that had no plain-vector query) it only decrypts fields.
 *
 * <p>A scroll search passes through untouched, ciphertext and all: the searches of {@code _update_by_query},
 * {@code _reindex} and {@code _delete_by_query} are scrolls, and a decrypted hit there would be written back in
 * plaintext. A user's scroll therefore gets the stored records too.
 */
public final class EncryptedKnnRerankProcessor extends GatewaySearchProcessor implements SearchResponseProcessor {

    public static final String TYPE = "encrypted_knn_rerank";

    private final List<String> decryptFields;
    private final boolean removeVector;

    EncryptedKnnRerankProcessor(
            String tag,
            String description,
            boolean ignoreFailure,
            NodeKeyHolder gateway,
            String modelId,
            List<String> decryptFields,
            boolean removeVector) {
        super(TYPE, tag, description, ignoreFailure, gateway, modelId);
        this.decryptFields = decryptFields;
        this.removeVector = removeVector;
    }

    @Override
    public SearchResponse processResponse(SearchRequest request, SearchResponse response) {
        throw new UnsupportedOperationException("[" + TYPE + "] needs the pipeline processing context");
    }

    @Override
    public SearchResponse processResponse(
            SearchRequest request, SearchResponse response, PipelineProcessingContext context) {
        throw new UnsupportedOperationException("[" + TYPE + "] runs asynchronously (processResponseAsync)");
    }

    @Override
    public void processResponseAsync(
            SearchRequest request,
            SearchResponse response,
            PipelineProcessingContext context,
            ActionListener<SearchResponse> listener) {
        Object attribute = context.getAttribute(GatewayQueryState.ATTRIBUTE);
        if (attribute instanceof GatewayQueryState) {
            context.setAttribute(GatewayQueryState.ATTRIBUTE, null);
        }
        if (request.scroll() != null) {
            // A scroll reads stored documents as they are: _update_by_query, _reindex and _delete_by_query always
            // scroll, and what they read they write back. Decrypting here would store the plaintext.
            if (attribute instanceof GatewayQueryState state) {
                state.close();
            }
            listener.onResponse(response);
            return;
        }
        if (attribute instanceof GatewayQueryState state) {
            rerank(response, state, ActionListener.runBefore(listener, state::close));
            return;
        }
        try {
            if (decryptFields.isEmpty() == false && response.getHits() != null) {
                try (KeyLease lease = gateway.acquire()) {
                    for (SearchHit hit : response.getHits().getHits()) {
                        rewriteSource(hit, lease, null, true, false);
                    }
                }
            }
        } catch (Exception e) {
            listener.onFailure(e);
            return;
        }
        listener.onResponse(response);
    }

    private record Scored(SearchHit hit, double score, int rank, boolean exact) {}

    /** A window hit with a record under a live epoch; {@code rank}: its place in the data node's order. */
    private record Candidate(SearchHit hit, Map<?, ?> info, ResidualLayout.HitRecord record, int rank) {}

    /** Scores, re-sorts and cuts to the page; reads the page's {@code _source} when the window came without it. */
    private void rerank(SearchResponse response, GatewayQueryState state, ActionListener<SearchResponse> listener) {
        SearchHits hits = response.getHits();
        SearchHit[] page;
        float maxScore;
        try {
            if (state.model.id().equals(modelId) == false) {
                throw new IllegalArgumentException("[" + TYPE + "] is configured for model [" + modelId
                        + "] but the query was encrypted under model [" + state.model.id() + "] by ["
                        + EncryptedKnnQueryProcessor.TYPE + "]");
            }
            if (hits == null) {
                listener.onResponse(response);
                return;
            }
            List<Scored> scored = new ArrayList<>();
            page = page(hits, state, scored);
            maxScore = scored.isEmpty()
                    ? hits.getMaxScore()
                    : (float) scored.get(0).score();
        } catch (Exception e) {
            listener.onFailure(e);
            return;
        }
        CheckedSupplier<SearchResponse, RuntimeException> finish = () -> {
            boolean dropVector = removeVector || state.vectorRequested == false;
            for (SearchHit hit : page) {
                rewriteSource(hit, state.lease, dropVector ? state.field : null, false, state.sourceDisabled);
            }
            return replaceHits(
                    response,
                    new SearchHits(
                            page,
                            hits.getTotalHits(),
                            maxScore,
                            hits.getSortFields(),
                            hits.getCollapseField(),
                            hits.getCollapseValues()));
        };
        if (state.pageSource == null || page.length == 0) {
            ActionListener.completeWith(listener, finish);
            return;
        }
        // the window was searched without _source: read the page's, as the caller asked for it, from the refreshed
        // view (not realtime), routed as each hit was
        MultiGetRequest get = new MultiGetRequest().realtime(false);
        for (SearchHit hit : page) {
            DocumentField routing = hit.field(RoutingFieldMapper.NAME);
            get.add(new MultiGetRequest.Item(hit.getIndex(), hit.getId())
                    .routing(routing == null ? null : routing.getValue().toString())
                    .fetchSourceContext(state.pageSource));
        }
        gateway.client()
                .multiGet(
                        get,
                        ActionListener.wrap(
                                responses -> {
                                    MultiGetItemResponse[] items = responses.getResponses();
                                    for (int i = 0; i < page.length; i++) {
                                        GetResponse item = items[i].getResponse();
                                        if (item != null && item.isExists() && item.isSourceEmpty() == false) {
                                            page[i].sourceRef(item.getSourceAsBytesRef());
                                        }
                                    }
                                    ActionListener.completeWith(listener, finish);
                                },
                                listener::onFailure));
    }

    /** Exact scores of the candidates, best first, then the unscored ones; the caller's from/size of them. */
    private SearchHit[] page(SearchHits hits, GatewayQueryState state, List<Scored> scored) {
        EncryptionModel model = state.model.model();
        ModelParameters p = model.parameters();
        List<Scored> unscored = new ArrayList<>();
        SearchHit[] all = hits.getHits();
        state.rescoring.beforeScoring(all);
        int residualLength = model.residualLength();
        List<Candidate> candidates = new ArrayList<>();
        for (int i = 0; i < all.length; i++) {
            SearchHit hit = all[i];
            Map<?, ?> info = GatewayRescoring.hitInfo(hit);
            if (!(info.get(HitField.RECORD.key()) instanceof byte[] bytes)) {
                unscored.add(new Scored(hit, hit.getScore(), i, false)); // no vector in the field
                continue;
            }
            ResidualLayout.HitRecord record;
            try {
                record = ResidualLayout.hitRecord(bytes, residualLength);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(
                        "hit [" + hit.getId() + "] of index [" + hit.getIndex() + "]: " + e.getMessage(), e);
            }
            // a record left under a retired epoch (matched by another clause) is returned unscored
            if (p.isLiveEpoch(record.vector().epoch()) == false) {
                unscored.add(new Scored(hit, hit.getScore(), i, false));
                continue;
            }
            candidates.add(new Candidate(hit, info, record, i));
        }
        double[] prefixTerms;
        try {
            prefixTerms = state.prefixTerms(
                    candidates.stream().map(Candidate::record).toList(),
                    gateway.rerankExecutor(),
                    gateway.rerankHelpers());
        } catch (IllegalArgumentException e) {
            // the records come from the storage tier, not from the caller: one that does not open (a sealed record
            // altered, or moved under another record's nonce) is a failure of the stored data, not a bad request
            throw new IllegalStateException("a record of the window cannot be scored: " + e.getMessage(), e);
        }
        for (int j = 0; j < candidates.size(); j++) {
            Candidate c = candidates.get(j);
            double score = prefixTerms[j] + state.rescoring.residualTerm(c.hit(), c.info(), c.record(), state);
            scored.add(new Scored(c.hit(), score, c.rank(), true));
        }
        scored.sort(Comparator.comparingDouble(Scored::score).reversed().thenComparingInt(Scored::rank));
        List<Scored> ordered = new ArrayList<>(scored);
        ordered.addAll(unscored);
        int from = Math.min(state.from, ordered.size());
        int to = Math.min(ordered.size(), from + state.size);
        SearchHit[] page = new SearchHit[to - from];
        for (int i = from; i < to; i++) {
            Scored s = ordered.get(i);
            if (s.exact()) {
                s.hit().score((float) s.score());
            }
            page[i - from] = s.hit();
        }
        return page;
    }

    /**
     * Decrypts the listed fields of a hit's _source and optionally drops the vector (or the whole source); drops the
     * data node's per-hit rescore field (ciphertext material for a key holder, which here is this processor).
     */
    private void rewriteSource(
            SearchHit hit, KeyLease lease, String dropField, boolean requireNothing, boolean dropSource) {
        hit.removeDocumentField(HitField.NAME);
        if (hit.hasSource() == false) {
            return;
        }
        if (dropSource) {
            hit.sourceRef(null);
            return;
        }
        Map<String, Object> source = hit.getSourceAsMap();
        boolean changed = false;
        for (String f : decryptFields) {
            Object v = XContentMapValues.extractValue(f, source);
            if (v == null) {
                continue;
            }
            FieldCipher cipher = lease.fieldCipher(f);
            Object plain;
            try {
                plain = decrypt(cipher, v, hit.getIndex(), hit.getId());
            } catch (IllegalArgumentException e) {
                // a 400 naming the field: the request asked to decrypt a field that this index holds under another
                // binding (a copy made without the re-key processor's source_index), not a node failure
                throw new IllegalArgumentException(
                        "field [" + f + "] of hit [" + hit.getId() + "] in index [" + hit.getIndex()
                                + "] cannot be decrypted: " + e.getMessage()
                                + " (written under another master key, or encrypted for another index and copied without the re-key processor's source_index)",
                        e);
            }
            if (plain != v) {
                put(source, f, plain);
                changed = true;
            }
        }
        if (dropField != null && remove(source, dropField)) {
            changed = true;
        }
        if (changed) {
            try (XContentBuilder builder = XContentFactory.jsonBuilder()) {
                builder.map(source);
                hit.sourceRef(BytesReference.bytes(builder));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static Object decrypt(FieldCipher cipher, Object v, String index, String id) {
        if (v instanceof String s) {
            if (FieldCipher.isRandomized(s)) {
                return cipher.decrypt(s, index, id);
            }
            if (s.startsWith(FieldCipher.DETERMINISTIC_PREFIX)) {
                return cipher.decryptDeterministic(s);
            }
            return s;
        }
        if (v instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            boolean any = false;
            for (Object o : list) {
                Object d = decrypt(cipher, o, index, id);
                any |= d != o;
                out.add(d);
            }
            return any ? out : v;
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    private static void put(Map<String, Object> source, String path, Object value) {
        if (source.containsKey(path)) {
            source.put(path, value);
            return;
        }
        int dot = path.indexOf('.');
        if (dot > 0 && source.get(path.substring(0, dot)) instanceof Map<?, ?> inner) {
            put((Map<String, Object>) inner, path.substring(dot + 1), value);
        }
    }

    private static boolean remove(Map<String, Object> source, String path) {
        if (source.containsKey(path)) {
            source.remove(path);
            return true;
        }
        int dot = path.indexOf('.');
        if (dot > 0 && source.get(path.substring(0, dot)) instanceof Map<?, ?> inner) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) inner;
            return remove(m, path.substring(dot + 1));
        }
        return false;
    }

    static SearchResponse replaceHits(SearchResponse response, SearchHits hits) {
        SearchResponseSections sections = new SearchResponseSections(
                hits,
                response.getAggregations(),
                response.getSuggest(),
                response.isTimedOut(),
                response.isTerminatedEarly(),
                response.getProfileResults() == null
                                || response.getProfileResults().isEmpty()
                        ? null
                        : new SearchProfileShardResults(response.getProfileResults()),
                response.getNumReducePhases(),
                response.getInternalResponse().getSearchExtBuilders(),
                response.getInternalResponse().getProcessorResult());
        return new SearchResponse(
                sections,
                response.getScrollId(),
                response.getTotalShards(),
                response.getSuccessfulShards(),
                response.getSkippedShards(),
                response.getTook().millis(),
                response.getPhaseTook(),
                response.getShardFailures(),
                response.getClusters(),
                response.pointInTimeId());
    }

    /** Factory; the processor needs the key only when it runs, not when the pipeline is stored. */
    public static Processor.Factory<SearchResponseProcessor> factory(NodeKeyHolder gateway) {
        return (processorFactories, tag, description, ignoreFailure, config, pipelineContext) -> {
            String modelId = ProcessorConfig.modelId(TYPE, tag, config);
            List<String> fields = ProcessorConfig.fieldNames(TYPE, tag, config, "decrypt_fields");
            boolean removeVector = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "remove_vector", false);
            return new EncryptedKnnRerankProcessor(
                    tag, description, ignoreFailure, gateway, modelId, fields, removeVector);
        };
    }
}
