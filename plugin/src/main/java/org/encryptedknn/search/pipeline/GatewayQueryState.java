package org.encryptedknn.search.pipeline;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.ResidualLayout;
import org.encryptedknn.transform.VectorTransform;
import org.encryptedknn.transform.WindowTerms;
import org.opensearch.search.fetch.subphase.FetchSourceContext;

/**
 * What the {@code encrypted_knn_query} request processor hands to the {@code encrypted_knn_rerank} response processor
 * of the same search, through the {@link org.opensearch.search.pipeline.PipelineProcessingContext} (in memory on the
 * coordinating node; never serialized, never sent to a data node): the leased key generation, the model as it was when
 * the query was encrypted, the query's secrets, and how the caller asked for the page.
 */
final class GatewayQueryState {

    static final String ATTRIBUTE = "encrypted_knn.gateway_query_state";

    final KeyLease lease;
    final CachedModel model;
    final String field;
    final EncryptedQuery query; // under model.epoch()
    private final float[] plainVector;
    final int from;
    final int size;
    /** The caller's request returns the vector field in _source (else the processor removes it from the hits). */
    final boolean vectorRequested;
    /** The caller asked for no _source at all; it was enabled only to read the vector. */
    final boolean sourceDisabled;
    /** The search mode's gateway half: what was sent, and where each hit's residual term comes from. */
    final GatewayRescoring rescoring;
    /**
     * The caller's {@code _source} request when the window was searched without {@code _source} and only the final
     * page's is read (by {@code encrypted_knn_rerank}, with a multi-get); null when the hits came with their own.
     */
    final FetchSourceContext pageSource;

    private final Map<Integer, EncryptedQuery> byEpoch = new HashMap<>();
    /** H_c r_q per (epoch, cell), computed once per search: a window holds many hits of few cells. */
    private final Map<Long, float[]> keyedQueries = new HashMap<>();

    GatewayQueryState(
            KeyLease lease,
            CachedModel model,
            String field,
            EncryptedQuery query,
            float[] plainVector,
            int from,
            int size,
            boolean vectorRequested,
            boolean sourceDisabled,
            GatewayRescoring rescoring,
            FetchSourceContext pageSource) {
        this.lease = lease;
        this.model = model;
        this.field = field;
        this.query = query;
        this.plainVector = plainVector;
        this.from = from;
        this.size = size;
        this.vectorRequested = vectorRequested;
        this.sourceDisabled = sourceDisabled;
        this.rescoring = rescoring;
        this.pageSource = pageSource;
        byEpoch.put(query.epoch(), query);
    }

    /** The query encrypted under {@code epoch} (records written before a rotation are scored under their own epoch). */
    synchronized EncryptedQuery queryFor(int epoch) {
        return byEpoch.computeIfAbsent(epoch, e -> model.transform(e).encryptQuery(plainVector));
    }

    /** The keyed residual query H_c [r_q; 0] of {@code cell} under {@code epoch}. */
    synchronized float[] keyedQuery(int epoch, int cell) {
        return keyedQueries.computeIfAbsent(
                WindowTerms.cellKey(epoch, cell), key -> transform(epoch).keyedResidualQuery(queryFor(epoch), cell));
    }

    /**
     * The exact prefix terms of the window's records, computing on the way (on this thread and up to {@code helpers}
     * of {@code executor}) the keyed queries that {@link #keyedQuery} will be asked for: {@link WindowTerms}.
     */
    synchronized double[] prefixTerms(List<ResidualLayout.HitRecord> records, Executor executor, int helpers) {
        boolean[] carriesZ = new boolean[records.size()];
        for (int i = 0; i < carriesZ.length; i++) {
            carriesZ[i] = records.get(i).hasResidual();
        }
        return WindowTerms.compute(
                records.stream().map(ResidualLayout.HitRecord::vector).toList(),
                carriesZ,
                this::transform,
                this::queryFor,
                keyedQueries,
                executor,
                helpers);
    }

    VectorTransform transform(int epoch) {
        return model.transform(epoch);
    }

    /** Zeroes the query secrets and releases the key generation. Idempotent. */
    synchronized void close() {
        if (plainVector != null) {
            Arrays.fill(plainVector, 0f);
        }
        byEpoch.values().forEach(EncryptedQuery::wipe);
        byEpoch.clear();
        keyedQueries.values().forEach(q -> Arrays.fill(q, 0f));
        keyedQueries.clear();
        lease.close();
    }
}
