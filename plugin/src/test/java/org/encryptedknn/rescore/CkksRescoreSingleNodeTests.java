package org.encryptedknn.rescore;

import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.encryptedknn.he.CiphertextWire;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.plugin.EncryptedKnnPlugin;
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.common.document.DocumentField;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.plugins.Plugin;
import org.opensearch.search.SearchHit;
import org.opensearch.test.OpenSearchSingleNodeTestCase;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.threadpool.ThreadPoolStats;

/**
 * ckks-mode rescoring on a real (single, in-JVM) node with a real CKKS key: the returned ciphertexts decrypt to the
 * exact keyed scores, unprobed hits are flagged, hostile ciphertexts are 400s and the node keeps answering.
 * Must run as an unprivileged user (the test framework refuses root).
 */
public class CkksRescoreSingleNodeTests extends OpenSearchSingleNodeTestCase {

    static final int DIM = 32;
    static final int PREFIX = 8;
    static final int RESIDUAL = DIM - PREFIX;
    static final int CELLS = 6;
    static final int DOCS = 90;
    /** B larger than the residual, so a batch holds 2048 / 300 = 6 hits and cells span several batches. */
    static final CkksParameters PARAMS = new CkksParameters(4096, List.of(50), 25, 300);

    static final String MAPPING =
            "{\"properties\":{\"embedding\":{\"type\":\"encrypted_knn_vector\",\"model_id\":\"m1\",\"dimension\":" + DIM
                    + ",\"prefix_dimension\":" + PREFIX + ",\"cells\":" + CELLS + "}}}";

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EncryptedKnnPlugin.class);
    }

    /** Whether this node scores a window's batches on the encrypted_knn_ckks pool too (the setting's default). */
    protected boolean parallelBatches() {
        return true;
    }

    /** Tasks the node's encrypted_knn_ckks pool has completed. */
    long ckksPoolCompleted() {
        for (ThreadPoolStats.Stats s : getInstanceFromNode(ThreadPool.class).stats()) {
            if (s.getName().equals(EncryptedKnnPlugin.CKKS_THREAD_POOL)) {
                return s.getCompleted();
            }
        }
        throw new AssertionError("the node has no thread pool " + EncryptedKnnPlugin.CKKS_THREAD_POOL);
    }

    record Doc(float[] p, int cell, float[] z) {}

    static float[] random(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    Map<String, Doc> index(String name, int shards, Random r) throws Exception {
        client().admin()
                .indices()
                .prepareCreate(name)
                .setSettings(Settings.builder()
                        .put("index.encrypted_knn", true)
                        .put("index.number_of_shards", shards)
                        .put("index.number_of_replicas", 0))
                .setMapping(MAPPING)
                .get();
        Map<String, Doc> docs = new HashMap<>();
        BulkRequestBuilder bulk = client().prepareBulk()
                .setRefreshPolicy(org.opensearch.action.support.WriteRequest.RefreshPolicy.IMMEDIATE);
        for (int i = 0; i < DOCS; i++) {
            Doc d = new Doc(random(r, PREFIX, 1), r.nextInt(CELLS), random(r, RESIDUAL, 0.2));
            docs.put(Integer.toString(i), d);
            byte[] nonce = new byte[16];
            r.nextBytes(nonce);
            XContentBuilder b = XContentFactory.jsonBuilder()
                    .startObject()
                    .startObject("embedding")
                    .field("p", d.p())
                    .field("n", Base64.getEncoder().encodeToString(nonce))
                    .field("c", d.cell())
                    .field("z", EncryptedVector.encodeFloats(d.z()))
                    .field("e", 1)
                    .endObject()
                    .endObject();
            bulk.add(client().prepareIndex(name).setId(Integer.toString(i)).setSource(b));
        }
        assertFalse(bulk.get().hasFailures());
        return docs;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    SearchResponse search(String index, CkksRescorePayload q, int window) {
        return client().prepareSearch(index)
                .setQuery(QueryBuilders.matchAllQuery())
                .setSize(DOCS)
                .addRescorer(new EncryptedKnnRescorerBuilder("embedding", q).windowSize(window))
                .get();
    }

    /** Checks one ckks response against plaintext: every probed hit decrypts to ⟨H_c r_q, z⟩ within 1e-4. */
    void checkResponse(
            SearchResponse resp,
            Map<String, Doc> docs,
            float[] prefix,
            Map<Integer, float[]> rq,
            CkksKeyHolder kh,
            int window) {
        SearchHit[] hits = resp.getHits().getHits();
        assertEquals(DOCS, hits.length);
        // each batch ciphertext exactly once; decrypt it
        Map<String, double[]> sums = new HashMap<>();
        for (SearchHit hit : hits) {
            Map<?, ?> f = info(hit);
            if (f.containsKey("ciphertext")) {
                String batch = (String) f.get("batch");
                assertNull(
                        "batch " + batch + " twice",
                        sums.put(
                                batch,
                                kh.decryptBatch((byte[]) f.get("ciphertext"), ((Number) f.get("count")).intValue())));
            }
        }
        float previous = Float.POSITIVE_INFINITY;
        int probed = 0;
        int unprobed = 0;
        Set<String> slots = new HashSet<>();
        for (int i = 0; i < hits.length; i++) {
            SearchHit hit = hits[i];
            Doc d = docs.get(hit.getId());
            Map<?, ?> f = info(hit);
            assertTrue("hits ordered by the prefix approximation", hit.getScore() <= previous);
            previous = hit.getScore();
            if (i < window) {
                assertEquals((float) dot(prefix, d.p()), hit.getScore(), 1e-5f);
            }
            ResidualLayout.HitRecord record = ResidualLayout.hitRecord((byte[]) f.get("record"), RESIDUAL);
            assertArrayEquals(d.p(), record.vector().prefix(), 0f);
            assertEquals(d.cell(), record.vector().cell());
            if (rq.containsKey(d.cell()) && i < window) {
                assertEquals(f.toString(), Boolean.TRUE, f.get("probed"));
                assertFalse("no z for a probed hit", record.hasResidual());
                String batch = (String) f.get("batch");
                int slot = ((Number) f.get("slot")).intValue();
                assertTrue(batch + "/" + slot + " used twice", slots.add(batch + "#" + slot));
                double[] s = sums.get(batch);
                assertNotNull("ciphertext of " + batch + " in the response", s);
                double exact = dot(rq.get(d.cell()), d.z());
                assertEquals("hit " + hit.getId(), exact, s[slot], 1e-4);
                probed++;
            } else {
                assertEquals(f.toString(), Boolean.FALSE, f.get("probed"));
                assertEquals(i < window ? null : Boolean.FALSE, f.get("rescored"));
                // z comes back (in the window or not) so that the key holder scores the hit itself
                assertTrue(record.hasResidual());
                assertArrayEquals(d.z(), record.vector().keyedResidual(), 0f);
                unprobed++;
            }
        }
        assertTrue(probed > 0);
        assertTrue(unprobed > 0);
    }

    static Map<?, ?> info(SearchHit hit) {
        DocumentField field = hit.field(org.encryptedknn.protocol.HitField.NAME);
        assertNotNull("hit " + hit.getId() + " has " + org.encryptedknn.protocol.HitField.NAME, field);
        return (Map<?, ?>) field.getValue();
    }

    public void testCkksRescoreDecryptsToExactScores() throws Exception {
        Random r = new Random(42);
        try (CkksContext ctx = CkksContext.create(PARAMS);
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
            for (int shards : new int[] {1, 3}) {
                String name = "ck" + shards;
                Map<String, Doc> docs = index(name, shards, r);
                float[] prefix = random(r, PREFIX, 1);
                Map<Integer, float[]> rq = new TreeMap<>();
                Map<Integer, byte[]> cts = new TreeMap<>();
                for (int c = 0; c < 4; c++) { // cells 4 and 5 are not probed
                    float[] q = random(r, RESIDUAL, 0.2);
                    rq.put(c, q);
                    cts.put(c, kh.encryptQuery(q));
                }
                CkksRescorePayload query = new CkksRescorePayload(prefix, cts, null, PARAMS);
                long batches = PluginStats.CKKS_BATCHES.sum();
                long requests = PluginStats.CKKS_RESCORE_REQUESTS.sum();
                long pooled = ckksPoolCompleted();
                checkResponse(search(name, query, DOCS), docs, prefix, rq, kh, DOCS);
                assertTrue(PluginStats.CKKS_BATCHES.sum() > batches);
                assertEquals(shards, PluginStats.CKKS_RESCORE_REQUESTS.sum() - requests);
                // several batches a shard: helpers were handed some (one that starts late finds nothing and returns)
                if (parallelBatches()) {
                    assertBusy(() -> assertTrue(ckksPoolCompleted() > pooled));
                } else {
                    assertEquals("no batch leaves the search thread", pooled, ckksPoolCompleted());
                }

                if (shards == 1) {
                    // a smaller window: hits beyond it are not rescored, and flagged so
                    checkResponse(search(name, query, 30), docs, prefix, rq, kh, 30);
                }
            }
        }
    }

    public void testHostileCiphertextsAre400s() throws Exception {
        Random r = new Random(7);
        Map<String, Doc> docs = index("hostile", 1, r);
        try (CkksContext ctx = CkksContext.create(PARAMS);
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk);
                CkksContext big = CkksContext.create(CkksParameters.n8192(300));
                CkksSecretKey bigSk = CkksSecretKey.generate(big);
                CkksKeyHolder bigKh = new CkksKeyHolder(big, bigSk)) {
            float[] prefix = random(r, PREFIX, 1);
            float[] q0 = random(r, RESIDUAL, 0.2);
            byte[] good = kh.encryptQuery(q0);
            long rejections = PluginStats.CKKS_REJECTIONS.sum();

            byte[] random = new byte[good.length];
            r.nextBytes(random);
            byte[] truncated = Arrays.copyOf(good, good.length - 100);
            byte[] seal = CiphertextWire.unpack(good, ctx.maxQueryBytes(), "query");
            byte[] sealTruncated = Arrays.copyOf(seal, seal.length - 100);
            long size = sealTruncated.length;
            for (int i = 0; i < 8; i++) {
                sealTruncated[8 + i] = (byte) (size >>> (8 * i));
            }
            // a valid wire form of SEAL bytes that pass the Java header check: the native load must refuse it
            byte[] truncatedFixedHeader = CiphertextWire.pack(sealTruncated);
            byte[] sealFlipped = seal.clone();
            sealFlipped[3] = 3; // SEAL version 3.x
            byte[] flippedHeader = CiphertextWire.pack(sealFlipped);
            byte[] otherParams = bigKh.encryptQuery(q0); // N = 8192 ciphertext sent as N = 4096
            byte[] huge = new byte[(int) ctx.maxQueryBytes() + 1];

            Map<String, byte[]> cases = new TreeMap<>();
            cases.put("random bytes", random);
            cases.put("truncated", truncated);
            cases.put("truncated, header fixed", truncatedFixedHeader);
            cases.put("version flipped", flippedHeader);
            cases.put("other parameters", otherParams);
            cases.put("huge", huge);
            for (Map.Entry<String, byte[]> c : cases.entrySet()) {
                String json = body(
                        prefix,
                        Base64.getEncoder().encodeToString(c.getValue()),
                        "{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":300}");
                expect400(c.getKey(), json, "rescore.encrypted_knn.query.cells[0]");
            }
            expect400(
                    "bad base64",
                    body(prefix, "%%%%", params4096()),
                    "rescore.encrypted_knn.query.cells[0]: is not valid base64");
            expect400(
                    "N=8192 claimed, 4096 ciphertext",
                    body(
                            prefix,
                            Base64.getEncoder().encodeToString(good),
                            "{\"poly_degree\":8192,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":300}"),
                    "rescore.encrypted_knn.query.cells[0]");
            expect400(
                    "unknown parameters",
                    body(
                            prefix,
                            Base64.getEncoder().encodeToString(good),
                            "{\"poly_degree\":4096,\"coeff_modulus_bits\":[48],\"scale_bits\":24,\"block_width\":300}"),
                    "are not accepted");
            assertTrue("data-node rejections counted", PluginStats.CKKS_REJECTIONS.sum() > rejections);

            // too many cells
            StringBuilder many = new StringBuilder();
            for (int i = 0; i <= CkksRescorePayload.MAX_CELLS; i++) {
                many.append(i == 0 ? "" : ",").append('"').append(i).append("\":\"AAAA\"");
            }
            expect400(
                    "too many cells",
                    "{\"query\":{\"match_all\":{}},\"rescore\":{\"encrypted_knn\":{\"field\":\"embedding\",\"mode\":\"ckks\",\"query\":{\"prefix\":"
                            + Arrays.toString(prefix) + ",\"cells\":{" + many + "},\"ckks\":" + params4096() + "}}}}",
                    "more than " + CkksRescorePayload.MAX_CELLS);

            // and a correct query still works
            Map<Integer, byte[]> cts = new TreeMap<>();
            cts.put(0, good);
            SearchResponse ok = search("hostile", new CkksRescorePayload(prefix, cts, null, PARAMS), DOCS);
            checkResponse(ok, docs, prefix, Map.of(0, q0), kh, DOCS);
        }
    }

    static String params4096() {
        return "{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":300}";
    }

    static String body(float[] prefix, String cell0, String params) {
        return "{\"query\":{\"match_all\":{}},\"size\":" + DOCS + ",\"rescore\":{\"window_size\":" + DOCS
                + ",\"encrypted_knn\":{\"field\":\"embedding\",\"mode\":\"ckks\",\"query\":{\"prefix\":"
                + Arrays.toString(prefix)
                + ",\"cells\":{\"0\":\"" + cell0 + "\"},\"ckks\":" + params + "}}}}";
    }

    void expect400(String what, String json, String fragment) {
        Exception e = expectThrows(Exception.class, () -> {
            try (var parser = org.opensearch.common.xcontent.json.JsonXContent.jsonXContent.createParser(
                    getInstanceFromNode(org.opensearch.core.xcontent.NamedXContentRegistry.class),
                    org.opensearch.core.xcontent.DeprecationHandler.THROW_UNSUPPORTED_OPERATION,
                    json)) {
                org.opensearch.search.builder.SearchSourceBuilder source =
                        org.opensearch.search.builder.SearchSourceBuilder.fromXContent(parser);
                client().prepareSearch("hostile").setSource(source).get();
            }
        });
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append(" | ");
            for (Throwable s : t.getSuppressed()) {
                all.append(s.getMessage()).append(" | ");
            }
        }
        if (e instanceof org.opensearch.action.search.SearchPhaseExecutionException spe) {
            for (var f : spe.shardFailures()) {
                all.append(f.reason()).append(" | ");
            }
        }
        assertEquals(what + ": " + all, RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(
                what + ": [" + all + "] should contain [" + fragment + "]",
                all.toString().contains(fragment));
    }
}
