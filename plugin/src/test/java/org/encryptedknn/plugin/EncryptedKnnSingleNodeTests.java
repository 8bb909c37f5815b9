package org.encryptedknn.plugin;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PointValues;
import org.encryptedknn.codec.EncryptedKnnCodec;
import org.encryptedknn.codec.HnswParamsRecordingFormat;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.mapper.EncryptedKnnVectorFieldMapper;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.query.EncryptedKnnQueryBuilder;
import org.encryptedknn.rescore.EncryptedKnnRescorerBuilder;
import org.encryptedknn.rescore.KeyedRescorePayload;
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.index.IndexService;
import org.opensearch.index.engine.Engine;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.indices.IndicesService;
import org.opensearch.plugins.Plugin;
import org.opensearch.search.SearchHit;
import org.opensearch.test.OpenSearchSingleNodeTestCase;

/**
 * The plugin on a real (single, in-JVM) node. Must run as an unprivileged user: the test framework refuses root.
 */
public class EncryptedKnnSingleNodeTests extends OpenSearchSingleNodeTestCase {

    static final int DIM = 32;
    static final int PREFIX = 8;
    static final int CELLS = 6;
    static final EncryptedFieldSpec SPEC =
            new EncryptedFieldSpec("embedding", "m1", DIM, PREFIX, CELLS, 32, 200, 1.0, PrefixLayout.PLAIN);

    /** Declares opensearch-knn's index switch, so the "both codecs" check can be exercised without that plugin. */
    public static class FakeKnnSettingPlugin extends Plugin {
        @Override
        public List<Setting<?>> getSettings() {
            return List.of(
                    Setting.boolSetting("index.knn", false, Setting.Property.IndexScope, Setting.Property.Final));
        }
    }

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(EncryptedKnnPlugin.class, FakeKnnSettingPlugin.class);
    }

    static Settings encryptedIndex() {
        return Settings.builder()
                .put("index.encrypted_knn", true)
                .put("index.number_of_shards", 1)
                .put("index.number_of_replicas", 0)
                .build();
    }

    static String mapping(String fieldParams) {
        return "{\"properties\":{\"group\":{\"type\":\"keyword\"},\"embedding\":{\"type\":\"encrypted_knn_vector\""
                + fieldParams + "}}}";
    }

    static final String GOOD =
            ",\"model_id\":\"m1\",\"dimension\":32,\"prefix_dimension\":8,\"cells\":6,\"method\":{\"m\":32,\"ef_construction\":200}";

    IndexService createEncrypted(String name) {
        client().admin()
                .indices()
                .prepareCreate(name)
                .setSettings(encryptedIndex())
                .setMapping(mapping(GOOD))
                .get();
        return getInstanceFromNode(IndicesService.class).indexServiceSafe(resolveIndex(name));
    }

    static String allMessages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
            for (Throwable s : c.getSuppressed()) {
                sb.append(allMessages(s));
            }
        }
        return sb.toString();
    }

    void expectBadRequest(Runnable action, String... fragments) {
        Exception e = expectThrows(Exception.class, action::run);
        assertEquals(allMessages(e), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        String all = allMessages(e);
        for (String f : fragments) {
            assertTrue("[" + all + "] should contain [" + f + "]", all.contains(f));
        }
    }

    void expectMappingRejected(String params, String... fragments) {
        String name = "bad-" + randomAlphaOfLength(6).toLowerCase(java.util.Locale.ROOT);
        expectBadRequest(
                () -> client().admin()
                        .indices()
                        .prepareCreate(name)
                        .setSettings(encryptedIndex())
                        .setMapping(mapping(params))
                        .get(),
                fragments);
    }

    public void testMappingValidation() throws Exception {
        expectMappingRejected(",\"dimension\":32,\"cells\":6", "[model_id] is required");
        expectMappingRejected(",\"model_id\":\"m1\",\"cells\":6", "[dimension] is required");
        expectMappingRejected(",\"model_id\":\"m1\",\"dimension\":32", "[cells] is required");
        expectMappingRejected(",\"model_id\":\"m1\",\"dimension\":32,\"cells\":0", "[cells] must be in [1, ");
        expectMappingRejected(
                ",\"model_id\":\"m1\",\"dimension\":32,\"cells\":6,\"prefix_dimension\":32",
                "[prefix_dimension] (32) must be smaller than [dimension] (32)");
        expectMappingRejected(
                ",\"model_id\":\"m1\",\"dimension\":32,\"cells\":6,\"method\":{\"m\":0}",
                "[method.m] must be in [2, 512], got 0");
        expectMappingRejected(
                ",\"model_id\":\"m1\",\"dimension\":32,\"cells\":6,\"method\":{\"ef\":5}",
                "unknown parameter [method.ef]");
        expectMappingRejected(",\"model_id\":\"m1\",\"dimension\":\"x\",\"cells\":6", "[dimension] must be an integer");
        expectMappingRejected(
                ",\"model_id\":\"m1\",\"dimension\":32,\"cells\":6,\"copy_to\":\"other\"",
                "does not support [copy_to]");

        // the index setting is required
        expectBadRequest(
                () -> client().admin()
                        .indices()
                        .prepareCreate("no-setting")
                        .setMapping(mapping(GOOD))
                        .get(),
                "needs the index setting [index.encrypted_knn: true]");
        // both codecs on one index
        expectBadRequest(
                () -> client().admin()
                        .indices()
                        .prepareCreate("both")
                        .setSettings(Settings.builder().put(encryptedIndex()).put("index.knn", true))
                        .get(),
                "sets both [index.encrypted_knn] and [index.knn] to true");

        // defaults: prefix_dimension = dimension / 4, method {16, 100}
        client().admin()
                .indices()
                .prepareCreate("defaults")
                .setSettings(encryptedIndex())
                .setMapping(mapping(",\"model_id\":\"m1\",\"dimension\":32,\"cells\":6"))
                .get();
        IndexService service = getInstanceFromNode(IndicesService.class).indexServiceSafe(resolveIndex("defaults"));
        EncryptedKnnVectorFieldMapper.EncryptedKnnVectorFieldType type =
                (EncryptedKnnVectorFieldMapper.EncryptedKnnVectorFieldType)
                        service.mapperService().fieldType("embedding");
        assertEquals(
                new EncryptedFieldSpec("embedding", "m1", 32, 8, 6, 16, 100, 1.0, PrefixLayout.PLAIN), type.spec());
        String mappingJson = client().admin()
                .indices()
                .prepareGetMappings("defaults")
                .get()
                .mappings()
                .get("defaults")
                .source()
                .string();
        assertTrue(mappingJson, mappingJson.contains("\"prefix_dimension\":8"));

        // model_id cannot change
        expectBadRequest(
                () -> client().admin()
                        .indices()
                        .preparePutMapping("defaults")
                        .setSource(
                                mapping(",\"model_id\":\"m2\",\"dimension\":32,\"cells\":6"),
                                org.opensearch.common.xcontent.XContentType.JSON)
                        .get(),
                "model_id");
    }

    void index(String index, String id, EncryptedVector v, String group) {
        Map<String, Object> source = new HashMap<>();
        source.put("embedding", EncryptedDocs.toMap(v));
        if (group != null) {
            source.put("group", group);
        }
        client().prepareIndex(index).setId(id).setSource(source).get();
    }

    public void testIndexingAndFieldInfo() throws Exception {
        IndexService service = createEncrypted("docs");
        Random random = new Random(randomLong());
        long before = PluginStats.DOCUMENTS_PARSED.sum();
        Map<String, EncryptedVector> indexed = new HashMap<>();
        for (int i = 0; i < 10; i++) {
            EncryptedVector v = EncryptedDocs.random(random, SPEC, i % CELLS, 1 + i % 2);
            indexed.put("d" + i, v);
            index("docs", "d" + i, v, null);
        }
        client().admin().indices().prepareRefresh("docs").get();
        assertEquals(10, PluginStats.DOCUMENTS_PARSED.sum() - before);
        assertEquals(
                10,
                client().prepareSearch("docs")
                        .setSize(0)
                        .get()
                        .getHits()
                        .getTotalHits()
                        .value());

        // _source keeps the encrypted object
        Map<String, Object> src = client().prepareGet("docs", "d3").get().getSourceAsMap();
        @SuppressWarnings("unchecked")
        Map<String, Object> emb = (Map<String, Object>) src.get("embedding");
        assertEquals(new java.util.HashSet<>(Arrays.asList("p", "n", "c", "z", "e")), emb.keySet());
        assertDerivedResiduals("docs", indexed);

        client().admin()
                .indices()
                .prepareForceMerge("docs")
                .setMaxNumSegments(1)
                .get();
        client().admin().indices().prepareRefresh("docs").get();
        assertDerivedResiduals("docs", indexed); // merges keep every residual
        try (Engine.Searcher searcher = service.getShard(0).acquireSearcher("test")) {
            assertFalse(searcher.getIndexReader().leaves().isEmpty());
            for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
                FieldInfo info = leaf.reader().getFieldInfos().fieldInfo("embedding");
                assertEquals("m1", info.getAttribute(EncryptedKnnVectorFieldMapper.ATTR_MODEL_ID));
                assertEquals("32", info.getAttribute(EncryptedKnnVectorFieldMapper.ATTR_DIMENSION));
                assertEquals("8", info.getAttribute(EncryptedKnnVectorFieldMapper.ATTR_PREFIX_DIMENSION));
                assertEquals("6", info.getAttribute(EncryptedKnnVectorFieldMapper.ATTR_CELLS));
                assertEquals("2", info.getAttribute(EncryptedKnnVectorFieldMapper.ATTR_FORMAT_VERSION));
                // written by the plugin's codec with the mapping's HNSW parameters
                assertEquals("32", info.getAttribute(HnswParamsRecordingFormat.ATTR_M));
                assertEquals("200", info.getAttribute(HnswParamsRecordingFormat.ATTR_EF_CONSTRUCTION));
                assertEquals("Lucene99HnswVectorsFormat", info.getAttribute("PerFieldKnnVectorsFormat.format"));
                assertEquals(PREFIX, info.getVectorDimension());
                assertEquals(
                        org.apache.lucene.index.VectorSimilarityFunction.EUCLIDEAN, info.getVectorSimilarityFunction());
                // epochs present in the segment: min/max of the epoch points
                PointValues epochs = leaf.reader().getPointValues("embedding._epoch");
                assertEquals(1, org.apache.lucene.util.NumericUtils.sortableBytesToInt(epochs.getMinPackedValue(), 0));
                assertEquals(2, org.apache.lucene.util.NumericUtils.sortableBytesToInt(epochs.getMaxPackedValue(), 0));
            }
        }
    }

    /**
     * z is stored once (residual doc values) and p once (the vector values), not in the stored _source, and every read
     * path derives them back: GET and search hits show the record exactly as indexed.
     */
    void assertDerivedResiduals(String index, Map<String, EncryptedVector> indexed) throws IOException {
        client().admin().indices().prepareFlush(index).get();
        for (Map.Entry<String, EncryptedVector> e : indexed.entrySet()) {
            org.opensearch.action.get.GetResponse get =
                    client().prepareGet(index, e.getKey()).get();
            @SuppressWarnings("unchecked")
            Map<String, Object> emb = (Map<String, Object>) get.getSourceAsMap().get("embedding");
            assertEquals(
                    "GET " + e.getKey(),
                    EncryptedVector.encodeFloats(e.getValue().keyedResidual()),
                    emb.get("z"));
            assertArrayEquals("GET " + e.getKey(), e.getValue().prefix(), floats(emb.get("p")), 0f);
            String json = get.getSourceAsString(); // the record reads in its indexed key order, z before e
            assertTrue(
                    json,
                    json.indexOf("\"c\":") < json.indexOf("\"z\":") && json.indexOf("\"z\":") < json.indexOf("\"e\":"));
        }
        for (SearchHit hit : client().prepareSearch(index)
                .setSize(indexed.size())
                .get()
                .getHits()
                .getHits()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> emb = (Map<String, Object>) hit.getSourceAsMap().get("embedding");
            assertEquals(
                    "hit " + hit.getId(),
                    EncryptedVector.encodeFloats(indexed.get(hit.getId()).keyedResidual()),
                    emb.get("z"));
            assertArrayEquals("hit " + hit.getId(), indexed.get(hit.getId()).prefix(), floats(emb.get("p")), 0f);
        }
        IndexService service = getInstanceFromNode(IndicesService.class).indexServiceSafe(resolveIndex(index));
        try (Engine.Searcher searcher = service.getShard(0).acquireSearcher("raw")) {
            for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
                org.apache.lucene.index.SegmentReader segment =
                        org.opensearch.common.lucene.Lucene.segmentReader(leaf.reader());
                org.apache.lucene.index.SegmentInfo si = segment.getSegmentInfo().info;
                assertEquals(EncryptedKnnCodec.NAME, si.getCodec().getName());
                // the bytes as stored, read with Lucene's own format: no z
                org.apache.lucene.codecs.Codec lucene = org.apache.lucene.codecs.Codec.forName("Lucene103");
                org.apache.lucene.store.Directory dir =
                        si.getUseCompoundFile() ? lucene.compoundFormat().getCompoundReader(si.dir, si) : si.dir;
                try (org.apache.lucene.codecs.StoredFieldsReader raw = lucene.storedFieldsFormat()
                        .fieldsReader(dir, si, segment.getFieldInfos(), org.apache.lucene.store.IOContext.DEFAULT)) {
                    for (int doc = 0; doc < leaf.reader().maxDoc(); doc++) {
                        org.apache.lucene.util.BytesRef stored =
                                raw.document(doc).getBinaryValue("_source");
                        Map<String, Object> source = org.opensearch.common.xcontent.XContentHelper.convertToMap(
                                        new org.opensearch.core.common.bytes.BytesArray(
                                                stored.bytes, stored.offset, stored.length),
                                        false)
                                .v2();
                        @SuppressWarnings("unchecked")
                        Map<String, Object> emb = (Map<String, Object>) source.get("embedding");
                        assertEquals(
                                "stored record without p and z",
                                new java.util.HashSet<>(Arrays.asList("n", "c", "e")),
                                emb.keySet());
                    }
                } finally {
                    if (dir != si.dir) {
                        dir.close();
                    }
                }
            }
        }
    }

    /** A parsed source's list of numbers as float32 (JSON gives doubles, SMILE and CBOR floats). */
    private static float[] floats(Object list) {
        List<?> numbers = (List<?>) list;
        float[] values = new float[numbers.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = ((Number) numbers.get(i)).floatValue();
        }
        return values;
    }

    public void testInvalidDocumentsAreRejected() throws Exception {
        createEncrypted("inv");
        Random random = new Random(randomLong());
        EncryptedVector good = EncryptedDocs.random(random, SPEC, 1, 1);
        long rejectionsBefore = PluginStats.PARSE_REJECTIONS.sum();

        List<Object[]> cases = new ArrayList<>();
        cases.add(new Object[] {
            EncryptedDocs.randomFloats(random, DIM),
            "field [embedding] of type [encrypted_knn_vector] accepts only encrypted vectors {p,n,c,z,e} or {p,n,s,e}; encrypt it with the encrypted_knn ingest pipeline or the client library first"
        });
        cases.add(new Object[] {
            Map.of("vector", EncryptedDocs.randomFloats(random, DIM)),
            "accepts only encrypted vectors {p,n,c,z,e} or {p,n,s,e}"
        });
        Map<String, Object> m;
        m = EncryptedDocs.toMap(good);
        m.put("p", EncryptedDocs.randomFloats(random, PREFIX - 1));
        cases.add(new Object[] {m, "[p] has 7 values but the prefix width is 8"});
        m = EncryptedDocs.toMap(good);
        m.put("n", "not base64!");
        cases.add(new Object[] {m, "[n] is not valid base64"});
        m = EncryptedDocs.toMap(good);
        m.put("n", "AAAA");
        cases.add(new Object[] {m, "[n] must decode to 16 bytes, got 3"});
        m = EncryptedDocs.toMap(good);
        m.put("c", CELLS);
        cases.add(new Object[] {m, "[c] must be a cell id in [0, 6), got 6"});
        m = EncryptedDocs.toMap(good);
        m.put("z", EncryptedVector.encodeFloats(new float[DIM - PREFIX - 1]));
        cases.add(new Object[] {m, "[z] must decode to 24 or 25 (padded) float32 values"});
        float[] nan = new float[DIM - PREFIX];
        nan[5] = Float.NaN;
        m = EncryptedDocs.toMap(good);
        m.put("z", EncryptedVector.encodeFloats(nan));
        cases.add(new Object[] {m, "[z][5] is not a finite float32"});
        m = EncryptedDocs.toMap(good);
        m.put("e", 0);
        cases.add(new Object[] {m, "[e] must be a key epoch >= 1, got 0"});
        // one component of 3 (the record that used to make every ckks query whose window held it fail)
        float[] wide = good.keyedResidual().clone();
        wide[3] = 3f;
        m = EncryptedDocs.toMap(good);
        m.put("z", EncryptedVector.encodeFloats(wide));
        cases.add(new Object[] {
            m, "[z] is out of range: an unpadded record's z must have norm at most residual_norm = 1.0"
        });
        float[] shortPadded = new float[DIM - PREFIX + 1];
        shortPadded[0] = 0.5f; // a padded record of norm 0.5, not T = 1: its norm would tell ‖r‖ again
        m = EncryptedDocs.toMap(good);
        m.put("z", EncryptedVector.encodeFloats(shortPadded));
        cases.add(new Object[] {m, "[z] is out of range: a padded record's z must have norm residual_norm = 1.0"});
        m = EncryptedDocs.toMap(good);
        m.remove("c");
        cases.add(new Object[] {m, "missing [c]"});

        for (Object[] c : cases) {
            Object value = c[0];
            String expected = (String) c[1];
            expectBadRequest(
                    () -> client().prepareIndex("inv")
                            .setId("x")
                            .setSource(Map.of("embedding", value))
                            .get(),
                    "[embedding]",
                    expected);
        }
        // the refused value is not echoed back
        Exception e = expectThrows(
                Exception.class,
                () -> client().prepareIndex("inv")
                        .setSource(Map.of("embedding", new float[] {0.123456789f}))
                        .get());
        assertFalse(allMessages(e), allMessages(e).contains("0.12345"));

        client().admin().indices().prepareRefresh("inv").get();
        assertEquals(
                0,
                client().prepareSearch("inv")
                        .setSize(0)
                        .get()
                        .getHits()
                        .getTotalHits()
                        .value());
        assertEquals(cases.size() + 1, PluginStats.PARSE_REJECTIONS.sum() - rejectionsBefore);
    }

    /** n documents d0…d(n-1) with random prefixes and cells, group a (even i) or b (odd i), epoch 2 (i % 3 == 0) or 1. */
    List<EncryptedVector> indexCorpus(String index, int n, Random random) {
        List<EncryptedVector> docs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EncryptedVector v = EncryptedDocs.random(random, SPEC, random.nextInt(CELLS), i % 3 == 0 ? 2 : 1);
            index(index, "d" + i, v, i % 2 == 0 ? "a" : "b");
            docs.add(v);
        }
        client().admin().indices().prepareRefresh(index).get();
        return docs;
    }

    static double l2(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            s += d * d;
        }
        return s;
    }

    static List<String> bruteForce(List<EncryptedVector> docs, float[] q, int k, java.util.function.IntPredicate keep) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            if (keep.test(i)) ids.add(i);
        }
        ids.sort(Comparator.comparingDouble(i -> l2(docs.get(i).prefix(), q)));
        return ids.stream().limit(k).map(i -> "d" + i).collect(Collectors.toList());
    }

    static List<String> ids(SearchResponse r) {
        return Arrays.stream(r.getHits().getHits()).map(SearchHit::getId).collect(Collectors.toList());
    }

    public void testQueryNearestFilterAndEpoch() throws Exception {
        createEncrypted("knn");
        Random random = new Random(randomLong());
        List<EncryptedVector> docs = indexCorpus("knn", 80, random);
        float[] q = EncryptedDocs.randomFloats(random, PREFIX);
        long queriesBefore = PluginStats.QUERIES.sum();

        SearchResponse r = client().prepareSearch("knn")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, 5).numCandidates(80))
                .setSize(5)
                .get();
        assertEquals(bruteForce(docs, q, 5, i -> true), ids(r));
        // Lucene's EUCLIDEAN score: 1 / (1 + d^2)
        assertEquals(
                1.0
                        / (1.0
                                + l2(
                                        docs.get(Integer.parseInt(r.getHits()
                                                        .getAt(0)
                                                        .getId()
                                                        .substring(1)))
                                                .prefix(),
                                        q)),
                r.getHits().getAt(0).getScore(),
                1e-5);
        assertTrue(PluginStats.QUERIES.sum() > queriesBefore);

        // filter: any OpenSearch query
        r = client().prepareSearch("knn")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, 5)
                        .numCandidates(80)
                        .filter(QueryBuilders.termQuery("group", "b")))
                .setSize(5)
                .get();
        assertEquals(bruteForce(docs, q, 5, i -> i % 2 == 1), ids(r));

        // epoch: only documents of that epoch
        r = client().prepareSearch("knn")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, 5)
                        .numCandidates(80)
                        .epoch(2)
                        .modelId("m1"))
                .setSize(5)
                .get();
        assertEquals(bruteForce(docs, q, 5, i -> i % 3 == 0), ids(r));
        // epoch and filter together
        r = client().prepareSearch("knn")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, 5)
                        .numCandidates(80)
                        .epoch(2)
                        .filter(QueryBuilders.termQuery("group", "a")))
                .setSize(5)
                .get();
        assertEquals(bruteForce(docs, q, 5, i -> i % 3 == 0 && i % 2 == 0), ids(r));
        // no document of that epoch: empty, not an error
        r = client().prepareSearch("knn")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, 5).epoch(3))
                .get();
        assertEquals(0, r.getHits().getHits().length);

        // errors
        expectBadRequest(
                () -> client().prepareSearch("knn")
                        .setQuery(new EncryptedKnnQueryBuilder("embedding", q, 5).modelId("m2"))
                        .get(),
                "query encrypted under model [m2] but field [embedding] uses model [m1]");
        expectBadRequest(
                () -> client().prepareSearch("knn")
                        .setQuery(
                                EncryptedKnnQueryBuilder.plain("embedding", EncryptedDocs.randomFloats(random, DIM), 5))
                        .get(),
                "plain vectors must be encrypted by the encrypted_knn_query search pipeline (or the client library) before they reach a data node");
        expectBadRequest(
                () -> client().prepareSearch("knn")
                        .setQuery(new EncryptedKnnQueryBuilder("embedding", new float[PREFIX + 1], 5))
                        .get(),
                "[encrypted_vector] has 9 values but field [embedding] has prefix width 8");
        expectBadRequest(
                () -> client().prepareSearch("knn")
                        .setQuery(new EncryptedKnnQueryBuilder("group", q, 5))
                        .get(),
                "field [group] is of type [keyword], not [encrypted_knn_vector]");
        expectBadRequest(
                () -> client().prepareSearch("knn")
                        .setQuery(new EncryptedKnnQueryBuilder("nope", q, 5))
                        .get(),
                "field [nope] is not mapped");
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    public void testKeyedRescore() throws Exception {
        createEncrypted("rs");
        Random random = new Random(randomLong());
        List<EncryptedVector> docs = indexCorpus("rs", 60, random);
        float[] q = EncryptedDocs.randomFloats(random, PREFIX);
        float[] prefix = EncryptedDocs.randomFloats(random, PREFIX);
        Map<Integer, float[]> cells = new TreeMap<>();
        for (int c = 0; c < CELLS; c += 2) {
            cells.put(c, EncryptedDocs.randomFloats(random, DIM - PREFIX));
        }
        KeyedRescorePayload kq = new KeyedRescorePayload(prefix, cells, null);
        long rescoredBefore = PluginStats.RESCORED_HITS.sum();
        long unprobedBefore = PluginStats.RESCORED_HITS_UNPROBED_CELL.sum();

        int window = 40;
        SearchResponse r = client().prepareSearch("rs")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, window).numCandidates(60))
                .addRescorer(new EncryptedKnnRescorerBuilder("embedding", kq).windowSize(window))
                .setSize(window)
                .get();
        assertEquals(window, r.getHits().getHits().length);
        List<String> firstPass = bruteForce(docs, q, window, i -> true);

        Map<String, Float> expected = new HashMap<>();
        int unprobed = 0;
        for (String id : firstPass) {
            EncryptedVector v = docs.get(Integer.parseInt(id.substring(1)));
            double s = dot(prefix, v.prefix());
            if (cells.containsKey(v.cell())) {
                s += dot(cells.get(v.cell()), v.keyedResidual());
            } else {
                unprobed++;
            }
            expected.put(id, (float) s);
        }
        List<String> expectedOrder = new ArrayList<>(firstPass);
        expectedOrder.sort((a, b) -> Float.compare(expected.get(b), expected.get(a)));
        float last = Float.POSITIVE_INFINITY;
        for (SearchHit hit : r.getHits().getHits()) {
            assertTrue("hit " + hit.getId() + " was not in the first pass", expected.containsKey(hit.getId()));
            assertEquals(
                    hit.getId(),
                    expected.get(hit.getId()),
                    hit.getScore(),
                    1e-4f * Math.max(1f, Math.abs(hit.getScore())));
            assertTrue("sorted descending", hit.getScore() <= last);
            last = hit.getScore();
            // unprobed hits: the key holder sees c in _source
            @SuppressWarnings("unchecked")
            Map<String, Object> emb = (Map<String, Object>) hit.getSourceAsMap().get("embedding");
            int c = ((Number) emb.get("c")).intValue();
            EncryptedVector v = docs.get(Integer.parseInt(hit.getId().substring(1)));
            assertEquals(v.cell(), c);
            if (!cells.containsKey(c)) {
                assertEquals(
                        (float) dot(prefix, v.prefix()),
                        hit.getScore(),
                        1e-4f * Math.max(1f, Math.abs(hit.getScore())));
            }
            // the per-hit field: the binary record (p, n, cell, epoch; z when unprobed) and the exact residual term
            Map<?, ?> info = (Map<?, ?>)
                    hit.field(org.encryptedknn.protocol.HitField.NAME).getValue();
            ResidualLayout.HitRecord record =
                    ResidualLayout.hitRecord((byte[]) info.get("record"), v.keyedResidual().length);
            assertArrayEquals(v.prefix(), record.vector().prefix(), 0f);
            assertArrayEquals(v.nonce(), record.vector().nonce());
            assertEquals(v.cell(), record.vector().cell());
            assertEquals(v.epoch(), record.vector().epoch());
            assertEquals(cells.containsKey(c), info.get("probed"));
            if (cells.containsKey(c)) {
                assertEquals(dot(cells.get(c), v.keyedResidual()), ((Number) info.get("residual")).doubleValue(), 1e-9);
                assertFalse(record.hasResidual());
            } else {
                assertEquals(v, record.vector());
                assertNull(info.get("residual"));
            }
        }
        assertEquals(expectedOrder, ids(r));
        assertEquals(window, PluginStats.RESCORED_HITS.sum() - rescoredBefore);
        assertEquals(unprobed, PluginStats.RESCORED_HITS_UNPROBED_CELL.sum() - unprobedBefore);

        // epoch in the rescore query: other-epoch hits keep the prefix part only
        KeyedRescorePayload epoch2 = new KeyedRescorePayload(prefix, cells, 2);
        r = client().prepareSearch("rs")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, window).numCandidates(60))
                .addRescorer(new EncryptedKnnRescorerBuilder("embedding", epoch2).windowSize(window))
                .setSize(window)
                .get();
        for (SearchHit hit : r.getHits().getHits()) {
            EncryptedVector v = docs.get(Integer.parseInt(hit.getId().substring(1)));
            double s = dot(prefix, v.prefix());
            if (v.epoch() == 2 && cells.containsKey(v.cell())) {
                s += dot(cells.get(v.cell()), v.keyedResidual());
            }
            assertEquals((float) s, hit.getScore(), 1e-4f * Math.max(1f, Math.abs(hit.getScore())));
        }

        // a window smaller than the hits: the rest follow, below the window
        r = client().prepareSearch("rs")
                .setQuery(new EncryptedKnnQueryBuilder("embedding", q, 20).numCandidates(60))
                .addRescorer(new EncryptedKnnRescorerBuilder("embedding", kq).windowSize(5))
                .setSize(20)
                .get();
        assertEquals(20, r.getHits().getHits().length);
        List<String> tail = ids(r).subList(5, 20);
        assertEquals(
                bruteForce(docs, q, 20, i -> true).subList(0, 20).stream()
                        .filter(tail::contains)
                        .collect(Collectors.toList()),
                tail);

        // validation against the mapping
        Map<Integer, float[]> outOfRange = Map.of(CELLS, new float[DIM - PREFIX]);
        expectBadRequest(
                () -> client().prepareSearch("rs")
                        .setQuery(QueryBuilders.matchAllQuery())
                        .addRescorer(new EncryptedKnnRescorerBuilder(
                                "embedding", new KeyedRescorePayload(prefix, outOfRange, null)))
                        .get(),
                "cell id 6 is out of range: field [embedding] has cells [0, 6)");
        Map<Integer, float[]> shortResidual = Map.of(1, new float[3]);
        expectBadRequest(
                () -> client().prepareSearch("rs")
                        .setQuery(QueryBuilders.matchAllQuery())
                        .addRescorer(new EncryptedKnnRescorerBuilder(
                                "embedding", new KeyedRescorePayload(prefix, shortResidual, null)))
                        .get(),
                "[query.cells.1] has 3 float32 values but field [embedding] has dimension - prefix_dimension = 24");
        expectBadRequest(
                () -> client().prepareSearch("rs")
                        .setQuery(QueryBuilders.matchAllQuery())
                        .addRescorer(new EncryptedKnnRescorerBuilder(
                                "embedding", new KeyedRescorePayload(new float[3], Map.of(), null)))
                        .get(),
                "[query.prefix] has 3 values but field [embedding] has prefix width 8");
        expectBadRequest(
                () -> client().prepareSearch("rs")
                        .setQuery(QueryBuilders.matchAllQuery())
                        .addRescorer(new EncryptedKnnRescorerBuilder("group", kq))
                        .get(),
                "field [group] is of type [keyword]");
    }

    public void testStatsEndpoint() throws Exception {
        createEncrypted("st");
        Random random = new Random(randomLong());
        index("st", "1", EncryptedDocs.random(random, SPEC, 0, 1), null);
        org.opensearch.test.rest.FakeRestRequest request = new org.opensearch.test.rest.FakeRestRequest.Builder(
                        xContentRegistry())
                .withMethod(org.opensearch.rest.RestRequest.Method.GET)
                .withPath("/_plugins/encrypted_knn/stats")
                .build();
        org.opensearch.test.rest.FakeRestChannel channel =
                new org.opensearch.test.rest.FakeRestChannel(request, true, 1);
        org.opensearch.cluster.service.ClusterService clusterService =
                getInstanceFromNode(org.opensearch.cluster.service.ClusterService.class);
        new org.encryptedknn.rest.RestEncryptedKnnStatsAction(
                        () -> clusterService.state().nodes())
                .handleRequest(request, channel, null);
        assertEquals(RestStatus.OK, channel.capturedResponse().status());
        Map<String, Object> body = org.opensearch.common.xcontent.XContentHelper.convertToMap(
                        channel.capturedResponse().content(), false, org.opensearch.common.xcontent.XContentType.JSON)
                .v2();
        assertEquals("local_node", body.get("scope"));
        @SuppressWarnings("unchecked")
        Map<String, Object> nodes = (Map<String, Object>) body.get("nodes");
        @SuppressWarnings("unchecked")
        Map<String, Object> node =
                (Map<String, Object>) nodes.get(clusterService.localNode().getId());
        assertNotNull(body.toString(), node);
        assertTrue(((Number) node.get("documents_parsed")).longValue() >= 1);
        for (String key : List.of(
                "parse_rejections",
                "queries",
                "query_rejections",
                "rescore_requests",
                "rescored_hits",
                "rescored_hits_unprobed_cell",
                "ckks_batches",
                "native_memory_in_use_bytes")) {
            assertTrue(key, node.containsKey(key));
        }
        for (String key : List.of(
                "ckks_rescore_requests",
                "ckks_time_in_nanos",
                "ckks_result_bytes",
                "ckks_rejections",
                "ckks_unencodable_hits")) {
            assertTrue(key, node.containsKey(key));
        }
        assertTrue(((Number) node.get("ckks_batches")).longValue() >= 0); // the ckks tests may share this JVM
    }
}
