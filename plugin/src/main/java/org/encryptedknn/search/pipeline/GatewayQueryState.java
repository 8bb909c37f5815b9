package org.encryptedknn.search.pipeline;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import org.encryptedknn.concurrent.ParallelWork;
import org.encryptedknn.keystore.CachedModel;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.ResidualLayout;
import org.encryptedknn.transform.VectorTransform;
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
                cellKey(epoch, cell), key -> transform(epoch).keyedResidualQuery(queryFor(epoch), cell));
    }

    /**
     * The key holder's work on a window, spread over this thread and up to {@code helpers} of {@code executor}: the exact
     * prefix term of every record (a SAP decryption each), and the keyed residual query of every (epoch, cell) of a
     * record that carries z, which {@link #keyedQuery} then returns. The two are most of a window's cost at the
     * gateway (docs/performance.md); with C = 64 cells a window of 100 touches most cells.
     */
    double[] prefixTerms(List<ResidualLayout.HitRecord> records, Executor executor, int helpers) {
        Map<Long, float[]> missing = new HashMap<>();
        for (ResidualLayout.HitRecord r : records) {
            EncryptedVector v = r.vector();
            queryFor(v.epoch()); // every epoch's query before the parallel part
            if (r.hasResidual()) {
                missing.put(cellKey(v.epoch(), v.cell()), null);
            }
        }
        synchronized (this) {
            missing.keySet().removeAll(keyedQueries.keySet());
        }
        long[] cells = missing.keySet().stream().mapToLong(Long::longValue).toArray();
        float[][] computed = new float[cells.length][];
        double[] terms = new double[records.size()];
        int chunks = (records.size() + PREFIX_CHUNK - 1) / PREFIX_CHUNK;
        ParallelWork.forEach(
                cells.length + chunks,
                unit -> {
                    if (unit < cells.length) {
                        int epoch = (int) (cells[unit] >>> 32);
                        computed[unit] = transform(epoch).keyedResidualQuery(queryFor(epoch), (int) cells[unit]);
                        return;
                    }
                    int from = (unit - cells.length) * PREFIX_CHUNK;
                    for (int i = from; i < Math.min(records.size(), from + PREFIX_CHUNK); i++) {
                        EncryptedVector v = records.get(i).vector();
                        terms[i] = transform(v.epoch()).prefixScore(queryFor(v.epoch()), v);
                    }
                },
                executor,
                helpers);
        synchronized (this) {
            for (int i = 0; i < cells.length; i++) {
                keyedQueries.put(cells[i], computed[i]);
            }
        }
        return terms;
    }

    /** Records per unit of {@link #prefixTerms}: a SAP decryption is a few microseconds, a cell's query ≈ 30. */
    private static final int PREFIX_CHUNK = 8;

    private static long cellKey(int epoch, int cell) {
        return ((long) epoch << 32) | (cell & 0xffffffffL);
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
