package org.encryptedknn.stats;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Node-level counters of the storage-side plugin, reported by {@code GET _plugins/encrypted_knn/stats}.
 *
 * <p>Static on purpose: the mapper, the query builder and the rescorer are created by OpenSearch far from the plugin
 * instance, and a JVM hosts one node. Counters only grow; readers take a snapshot. No OpenSearch dependency.
 */
public final class PluginStats {

    /** Encrypted vectors accepted by the {@code encrypted_knn_vector} mapper (one per field value). */
    public static final LongAdder DOCUMENTS_PARSED = new LongAdder();
    /** Values refused by the mapper (plain vectors, malformed or out-of-range encrypted objects). */
    public static final LongAdder PARSE_REJECTIONS = new LongAdder();
    /** {@code encrypted_knn} queries turned into Lucene queries (counted per shard). */
    public static final LongAdder QUERIES = new LongAdder();
    /** {@code encrypted_knn} queries refused (plain vector, model mismatch, bad lengths …). */
    public static final LongAdder QUERY_REJECTIONS = new LongAdder();
    /** {@code encrypted_knn} rescore executions (per shard). */
    public static final LongAdder RESCORE_REQUESTS = new LongAdder();
    /** Hits scored by the rescorer (per shard, window hits). */
    public static final LongAdder RESCORED_HITS = new LongAdder();
    /** Window hits whose cell was not in the rescore query (kept with their prefix score only). */
    public static final LongAdder RESCORED_HITS_UNPROBED_CELL = new LongAdder();
    /** CKKS multiply-plain batches run on this node (one result ciphertext each). */
    public static final LongAdder CKKS_BATCHES = new LongAdder();
    /** ckks-mode rescore executions (per shard). */
    public static final LongAdder CKKS_RESCORE_REQUESTS = new LongAdder();
    /** Wall time spent in the ckks fetch sub-phase (query ciphertext loads + batches), nanoseconds. */
    public static final LongAdder CKKS_NANOS = new LongAdder();
    /** Bytes of result ciphertexts returned. */
    public static final LongAdder CKKS_RESULT_BYTES = new LongAdder();
    /** ckks query ciphertexts refused by the native validating load on this node (data-node side 400s). */
    public static final LongAdder CKKS_REJECTIONS = new LongAdder();
    /** ckks window hits of a probed cell left out of the batches: a residual component beyond what CKKS encodes. */
    public static final LongAdder CKKS_UNENCODABLE_HITS = new LongAdder();

    private static volatile LongSupplier nativeMemoryGauge = () -> 0L;

    private PluginStats() {}

    /** Lets the SEAL binding report its native allocations without reflection. */
    public static void setNativeMemoryGauge(LongSupplier gauge) {
        nativeMemoryGauge = gauge == null ? () -> 0L : gauge;
    }

    public static long nativeMemoryInUse() {
        try {
            return nativeMemoryGauge.getAsLong();
        } catch (RuntimeException | LinkageError e) {
            return -1L; // the gauge itself failed: report "unknown" rather than failing the stats call
        }
    }

    /** A consistent-enough snapshot (each counter read once), in a stable order. */
    public static Map<String, Long> snapshot() {
        Map<String, Long> out = new LinkedHashMap<>();
        out.put("documents_parsed", DOCUMENTS_PARSED.sum());
        out.put("parse_rejections", PARSE_REJECTIONS.sum());
        out.put("queries", QUERIES.sum());
        out.put("query_rejections", QUERY_REJECTIONS.sum());
        out.put("rescore_requests", RESCORE_REQUESTS.sum());
        out.put("rescored_hits", RESCORED_HITS.sum());
        out.put("rescored_hits_unprobed_cell", RESCORED_HITS_UNPROBED_CELL.sum());
        out.put("ckks_batches", CKKS_BATCHES.sum());
        out.put("ckks_rescore_requests", CKKS_RESCORE_REQUESTS.sum());
        out.put("ckks_time_in_nanos", CKKS_NANOS.sum());
        out.put("ckks_result_bytes", CKKS_RESULT_BYTES.sum());
        out.put("ckks_rejections", CKKS_REJECTIONS.sum());
        out.put("ckks_unencodable_hits", CKKS_UNENCODABLE_HITS.sum());
        out.put("native_memory_in_use_bytes", nativeMemoryInUse());
        return out;
    }
}
