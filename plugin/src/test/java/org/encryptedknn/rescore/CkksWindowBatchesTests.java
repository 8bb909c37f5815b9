package org.encryptedknn.rescore;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.store.Directory;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.stats.PluginStats;
import org.opensearch.test.OpenSearchTestCase;

/**
 * The homomorphic half of ckks mode on a real Lucene index and real CKKS keys: batches scored on several threads give
 * the same exact scores as on one, and a residual CKKS cannot encode (a component beyond the context's bound) leaves
 * its hit out of the batches, unprobed, instead of failing the shard.
 */
public class CkksWindowBatchesTests extends OpenSearchTestCase {

    static final int RESIDUAL = 24;
    static final int CELLS = 3;
    static final int DOCS = 60;
    static final CkksParameters PARAMS = new CkksParameters(4096, List.of(50), 25, 300);
    static final Set<Integer> OUT_OF_RANGE = Set.of(7, 31);

    public void testParallelBatchesAndUnencodableResiduals() throws Exception {
        Random r = new Random(11);
        Map<Integer, float[]> z = new HashMap<>();
        Map<Integer, Integer> cellOf = new HashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Directory dir = newDirectory();
                CkksContext ctx = CkksContext.create(PARAMS);
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
            try (IndexWriter w = new IndexWriter(dir, new IndexWriterConfig())) {
                for (int doc = 0; doc < DOCS; doc++) {
                    float[] v = CkksRescoreSingleNodeTests.random(r, RESIDUAL, 0.3);
                    if (OUT_OF_RANGE.contains(doc)) {
                        v[doc % RESIDUAL] = doc == 7 ? 3.0f : -2.5f; // beyond the ±2 CKKS bound
                    }
                    int cell = doc % CELLS;
                    z.put(doc, v);
                    cellOf.put(doc, cell);
                    Document d = new Document();
                    d.add(new BinaryDocValuesField(
                            ResidualDocValues.residualField("embedding"),
                            ResidualDocValues.encodeResidual(cell, 1, v)));
                    w.addDocument(d);
                }
                w.forceMerge(1);
            }
            Map<Integer, float[]> rq = new TreeMap<>();
            Map<Integer, byte[]> cts = new TreeMap<>();
            for (int c = 0; c < CELLS; c++) {
                rq.put(c, CkksRescoreSingleNodeTests.random(r, RESIDUAL, 0.3));
                cts.put(c, kh.encryptQuery(rq.get(c)));
            }
            CkksRescorePayload payload = new CkksRescorePayload(new float[] {1f, 0f}, cts, 1, PARAMS);
            Set<Integer> window = new HashSet<>();
            for (int doc = 0; doc < DOCS; doc++) {
                window.add(doc);
            }
            try (DirectoryReader reader = DirectoryReader.open(dir)) {
                for (ExecutorService executor : new ExecutorService[] {null, pool}) {
                    long skipped = PluginStats.CKKS_UNENCODABLE_HITS.sum();
                    CkksWindowBatches out =
                            CkksWindowBatches.compute(reader, payload, "embedding", window, "idx/0", executor);
                    assertEquals(OUT_OF_RANGE.size(), PluginStats.CKKS_UNENCODABLE_HITS.sum() - skipped);
                    // 58 encodable hits, 13 blocks a batch: 5 batches (several per thread)
                    assertEquals(5, out.batches.size());
                    Map<String, double[]> sums = new HashMap<>();
                    for (CkksWindowBatches.Batch b : out.batches) {
                        sums.put(b.id, kh.decryptBatch(b.ciphertext, b.count));
                    }
                    for (int doc = 0; doc < DOCS; doc++) {
                        boolean probed = out.probed(doc, null, true);
                        assertEquals("doc " + doc, !OUT_OF_RANGE.contains(doc), probed);
                        if (probed) {
                            CkksWindowBatches.Slot slot = out.slots.get(doc);
                            double exact = CkksRescoreSingleNodeTests.dot(rq.get(cellOf.get(doc)), z.get(doc));
                            assertEquals("doc " + doc, exact, sums.get(slot.batch().id)[slot.slot()], 1e-4);
                        }
                    }
                }
            }
        } finally {
            pool.shutdown();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
    }
}
