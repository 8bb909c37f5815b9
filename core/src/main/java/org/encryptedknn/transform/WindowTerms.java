package org.encryptedknn.transform;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.IntFunction;
import org.encryptedknn.concurrent.ParallelWork;

/**
 * The key holder's work on a window of records, in gateway and in client mode alike: the exact prefix term of every
 * keyed record (a SAP decryption each) and the keyed residual query H_c [r_q; 0] of every (epoch, cell) of a record
 * that carries z; a sealed record's whole score (one AES-GCM opening and one dot product). With C = 64 cells a window
 * of 100 touches most cells, and the two are most of the key holder's cost (docs/performance.md), so they run as
 * units of {@link ParallelWork}: 8 records a unit, one cell a unit.
 */
public final class WindowTerms {

    /** Records per unit: a SAP decryption or a sealed record's opening is a few microseconds, a cell's query tens. */
    static final int PREFIX_CHUNK = 8;

    private WindowTerms() {}

    /** The map key of a keyed query: epoch and cell. */
    public static long cellKey(int epoch, int cell) {
        return ((long) epoch << 32) | (cell & 0xffffffffL);
    }

    /**
     * Returns the prefix terms of {@code records} (same order; a sealed record's whole score, its residual term being
     * 0) and adds to {@code keyedQueries} the keyed query of each (epoch, cell) of a record with {@code carriesZ} that
     * it does not hold yet. {@code transforms} and {@code queries}
     * give the transform and the encrypted query under an epoch; they are called on this thread only, before the
     * parallel part. The map is read and written on this thread only.
     */
    public static double[] compute(
            List<EncryptedVector> records,
            boolean[] carriesZ,
            IntFunction<VectorTransform> transforms,
            IntFunction<EncryptedQuery> queries,
            Map<Long, float[]> keyedQueries,
            Executor executor,
            int helpers) {
        Map<Integer, VectorTransform> transformOf = new HashMap<>();
        Map<Integer, EncryptedQuery> queryOf = new HashMap<>();
        Set<Long> missing = new LinkedHashSet<>();
        for (int i = 0; i < records.size(); i++) {
            int epoch = records.get(i).epoch();
            transformOf.computeIfAbsent(epoch, transforms::apply);
            queryOf.computeIfAbsent(epoch, queries::apply);
            long key = cellKey(epoch, records.get(i).cell());
            if (carriesZ[i] && !keyedQueries.containsKey(key)) {
                missing.add(key);
            }
        }
        long[] cells = missing.stream().mapToLong(Long::longValue).toArray();
        float[][] computed = new float[cells.length][];
        double[] terms = new double[records.size()];
        int chunks = (records.size() + PREFIX_CHUNK - 1) / PREFIX_CHUNK;
        ParallelWork.forEach(
                cells.length + chunks,
                unit -> {
                    if (unit < cells.length) {
                        int epoch = (int) (cells[unit] >>> 32);
                        computed[unit] =
                                transformOf.get(epoch).keyedResidualQuery(queryOf.get(epoch), (int) cells[unit]);
                        return;
                    }
                    int from = (unit - cells.length) * PREFIX_CHUNK;
                    for (int i = from; i < Math.min(records.size(), from + PREFIX_CHUNK); i++) {
                        EncryptedVector v = records.get(i);
                        VectorTransform transform = transformOf.get(v.epoch());
                        EncryptedQuery query = queryOf.get(v.epoch());
                        terms[i] = v.isSealed() ? transform.sealedScore(query, v) : transform.prefixScore(query, v);
                    }
                },
                executor,
                helpers);
        for (int i = 0; i < cells.length; i++) {
            keyedQueries.put(cells[i], computed[i]);
        }
        return terms;
    }
}
