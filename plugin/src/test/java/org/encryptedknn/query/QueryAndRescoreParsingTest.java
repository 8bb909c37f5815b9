package org.encryptedknn.query;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.plugin.EncryptedKnnPlugin;
import org.encryptedknn.rescore.EncryptedKnnRescorerBuilder;
import org.encryptedknn.rescore.KeyedRescorePayload;
import org.encryptedknn.transform.EncryptedVector;
import org.junit.Test;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.NamedWriteableAwareStreamInput;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.search.SearchModule;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.rescore.RescorerBuilder;

/** Plain JUnit (runs as root): XContent and wire round trips of the query and the rescorer. */
public class QueryAndRescoreParsingTest {

    static final SearchModule MODULE = new SearchModule(Settings.EMPTY, List.of(new EncryptedKnnPlugin()));
    static final NamedXContentRegistry XCONTENT = new NamedXContentRegistry(MODULE.getNamedXContents());
    static final NamedWriteableRegistry WRITEABLES = new NamedWriteableRegistry(MODULE.getNamedWriteables());

    static XContentParser parser(String json) throws IOException {
        return JsonXContent.jsonXContent.createParser(XCONTENT, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json);
    }

    static SearchSourceBuilder source(String json) throws IOException {
        try (XContentParser p = parser(json)) {
            return SearchSourceBuilder.fromXContent(p);
        }
    }

    static String json(ToXContent x) throws IOException {
        XContentBuilder b = JsonXContent.contentBuilder();
        if (x instanceof QueryBuilder) {
            x.toXContent(b, ToXContent.EMPTY_PARAMS);
        } else {
            b.startObject();
            x.toXContent(b, ToXContent.EMPTY_PARAMS);
            b.endObject();
        }
        return b.toString();
    }

    @SuppressWarnings("unchecked")
    static <T> T wire(org.opensearch.core.common.io.stream.NamedWriteable w, Class<T> category) throws IOException {
        BytesStreamOutput out = new BytesStreamOutput();
        out.writeNamedWriteable(w);
        try (StreamInput in = new NamedWriteableAwareStreamInput(out.bytes().streamInput(), WRITEABLES)) {
            return (T) in.readNamedWriteable(
                    (Class<org.opensearch.core.common.io.stream.NamedWriteable>) (Class<?>) category);
        }
    }

    @Test
    public void queryRoundTrips() throws IOException {
        String json =
                "{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[0.5,-1.25],\"k\":7,\"num_candidates\":20,"
                        + "\"filter\":{\"term\":{\"group\":\"a\"}},\"model_id\":\"m1\",\"epoch\":2,\"boost\":2.0,\"_name\":\"q\"}}}}";
        EncryptedKnnQueryBuilder q = (EncryptedKnnQueryBuilder) source(json).query();
        assertEquals("embedding", q.fieldName());
        assertArrayEquals(new float[] {0.5f, -1.25f}, q.encryptedVector(), 0f);
        assertEquals(7, q.k());
        assertEquals(Integer.valueOf(20), q.numCandidates());
        assertEquals(QueryBuilders.termQuery("group", "a"), q.filter());
        assertEquals("m1", q.modelId());
        assertEquals(Integer.valueOf(2), q.epoch());
        assertEquals(2.0f, q.boost(), 0f);
        assertEquals("q", q.queryName());

        // XContent round trip
        EncryptedKnnQueryBuilder again;
        try (XContentParser p = parser(json(q))) {
            p.nextToken();
            again = (EncryptedKnnQueryBuilder)
                    org.opensearch.index.query.AbstractQueryBuilder.parseInnerQueryBuilder(p);
        }
        assertEquals(q, again);
        assertEquals(q.hashCode(), again.hashCode());
        // wire round trip
        assertEquals(q, wire(q, QueryBuilder.class));
        assertNotEquals(q, q.epoch(3));
    }

    @Test
    public void aPlainVectorQueryMayLeaveKToTheModel() throws IOException {
        EncryptedKnnQueryBuilder q = (EncryptedKnnQueryBuilder)
                source("{\"query\":{\"encrypted_knn\":{\"embedding\":{\"vector\":[0.5,-1.25]}}}}")
                        .query();
        assertEquals(EncryptedKnnQueryBuilder.MODEL_DEFAULT_K, q.k());
        assertFalse(json(q), json(q).contains("\"k\""));
        // the processor sets the window when it encrypts
        assertEquals(
                37, q.withEncryptedVector(new float[] {1f, 2f}, "m1", null, 37).k());
        // an encrypted query still needs k: nothing on a data node knows the model's window
        ParsingException e = assertThrows(
                ParsingException.class,
                () -> source("{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[0.5,-1.25]}}}}"));
        assertTrue(e.getMessage(), e.getMessage().contains("requires [k]"));
        assertThrows(
                IllegalArgumentException.class,
                () -> q.withEncryptedVector(
                        new float[] {1f, 2f}, "m1", null, EncryptedKnnQueryBuilder.MODEL_DEFAULT_K));
    }

    @Test
    public void queryValidation() {
        assertThrows(
                ParsingException.class,
                () -> source("{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[1],\"k\":0}}}}"));
        assertThrows(
                ParsingException.class,
                () -> source("{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[1],\"k\":10001}}}}"));
        assertThrows(
                ParsingException.class,
                () -> source("{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[1]}}}}"));
        assertThrows(
                ParsingException.class,
                () -> source(
                        "{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[1],\"k\":5,\"num_candidates\":2}}}}"));
        assertThrows(
                ParsingException.class,
                () -> source("{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[1e39],\"k\":5}}}}"));
        assertThrows(
                ParsingException.class,
                () -> source(
                        "{\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":[1],\"k\":5,\"bogus\":1}}}}"));
    }

    /** Errors name the field and the problem, never the value sent (ObjectParser + RequestParsing). */
    @Test
    public void parseErrorsNameTheFieldNotTheValue() {
        String secret = "0.123456789";
        String query = "{\"query\":{\"encrypted_knn\":{\"embedding\":{%s}}}}";
        String rescore = "{\"rescore\":{\"encrypted_knn\":{\"field\":\"embedding\",%s}}}";
        String[][] cases = {
            {query, "\"vector\":[S,\"x\"],\"k\":5", "[encrypted_knn] [vector] must be an array of numbers"},
            {query, "\"encrypted_vector\":[1],\"k\":\"kS\"", "[encrypted_knn] [k] must be an integer"},
            {query, "\"encrypted_vector\":[1],\"k\":5,\"boost\":\"bS\"", "boost"},
            {query, "\"encrypted_vector\":[1],\"k\":5,\"model_id\":{\"x\":S}", "model_id"},
            {query, "\"encrypted_vector\":[1],\"k\":5,\"bogus\":S", "unknown field [bogus]"},
            {rescore, "\"mode\":\"mS\",\"query\":{\"prefix\":[1]}", "[keyed] or [ckks]"},
            {rescore, "\"x\":S", "unknown field [x]"},
        };
        for (String[] c : cases) {
            String m = messageOf(String.format(java.util.Locale.ROOT, c[0], c[1].replace("S", secret)));
            assertTrue(m, m.contains(c[2]));
            assertFalse(m, m.contains(secret));
        }
    }

    @Test
    public void plainVectorParsesButNeverTravels() throws IOException {
        EncryptedKnnQueryBuilder q = (EncryptedKnnQueryBuilder)
                source("{\"query\":{\"encrypted_knn\":{\"embedding\":{\"vector\":[0.1,0.2],\"k\":3}}}}")
                        .query();
        assertArrayEquals(new float[] {0.1f, 0.2f}, q.plainVector(), 0f);
        assertNull(q.encryptedVector());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> wire(q, QueryBuilder.class));
        assertEquals(EncryptedKnnQueryBuilder.PLAIN_VECTOR_MESSAGE, e.getMessage());
        // what the search request processor does
        EncryptedKnnQueryBuilder encrypted = q.withEncryptedVector(new float[] {9f, 8f}, "m1", 1);
        assertNull(encrypted.plainVector());
        assertEquals(encrypted, wire(encrypted, QueryBuilder.class));
    }

    static String b64(float... v) {
        return EncryptedVector.encodeFloats(v);
    }

    @Test
    public void rescoreRoundTrips() throws IOException {
        String json =
                "{\"rescore\":{\"window_size\":50,\"encrypted_knn\":{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{"
                        + "\"prefix\":[1,2],\"cells\":{\"3\":\"" + b64(1, 2, 3) + "\",\"0\":\"" + b64(4, 5, 6)
                        + "\"},\"epoch\":1}}}}";
        SearchSourceBuilder s = source(json);
        RescorerBuilder<?> r = s.rescores().get(0);
        EncryptedKnnRescorerBuilder e = (EncryptedKnnRescorerBuilder) r;
        assertEquals(Integer.valueOf(50), e.windowSize());
        assertEquals("embedding", e.field());
        assertArrayEquals(new float[] {1, 2}, e.keyedQuery().prefix(), 0f);
        assertArrayEquals(new float[] {4, 5, 6}, e.keyedQuery().cells().get(0), 0f);
        assertArrayEquals(new float[] {1, 2, 3}, e.keyedQuery().cells().get(3), 0f);
        assertEquals(Integer.valueOf(1), e.keyedQuery().epoch());
        // XContent round trip through the search source
        SearchSourceBuilder again = source(s.toString());
        assertEquals(e, again.rescores().get(0));
        // wire
        assertEquals(e, wire(e, RescorerBuilder.class));
        // query order independent of mode position
        String modeLast =
                "{\"rescore\":{\"encrypted_knn\":{\"query\":{\"prefix\":[1,2]},\"field\":\"embedding\",\"mode\":\"keyed\"}}}";
        assertTrue(source(modeLast).rescores().get(0) instanceof EncryptedKnnRescorerBuilder);
    }

    static String messageOf(String json) {
        Exception ex = assertThrows(Exception.class, () -> source(json));
        Throwable t = ex;
        StringBuilder all = new StringBuilder();
        while (t != null) {
            all.append(t.getMessage()).append(" | ");
            t = t.getCause();
        }
        return all.toString();
    }

    @Test
    public void rescoreValidation() {
        String pre = "{\"rescore\":{\"encrypted_knn\":";
        assertTrue(messageOf(pre + "{\"field\":\"embedding\",\"mode\":\"ckks\",\"query\":{}}}}")
                .contains("rescore.encrypted_knn.query.prefix: is required"));
        assertTrue(messageOf(pre + "{\"field\":\"embedding\",\"query\":{\"prefix\":[1]}}}}")
                .contains("[mode] is required"));
        assertTrue(messageOf(pre + "{\"field\":\"embedding\",\"mode\":\"fast\",\"query\":{\"prefix\":[1]}}}}")
                .contains("[keyed] or [ckks]"));
        assertTrue(messageOf(
                        pre
                                + "{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{\"prefix\":[1],\"cells\":{\"x\":\"AAAAAA==\"}}}}}")
                .contains("key [x] is not a cell id"));
        assertTrue(messageOf(
                        pre
                                + "{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{\"prefix\":[1],\"cells\":{\"1\":\"@@\"}}}}}")
                .contains("[query.cells.1] is not valid base64"));
        assertTrue(messageOf(
                        pre
                                + "{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{\"prefix\":[1],\"cells\":{\"1\":\"AAAA\"}}}}}")
                .contains("not a whole number of float32"));
        assertTrue(messageOf(pre
                        + "{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{\"prefix\":[1],\"cells\":{\"1\":\""
                        + b64(1, 2) + "\",\"2\":\"" + b64(1) + "\"}}}}}")
                .contains("other cells have 2"));
        assertTrue(messageOf(pre + "{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{\"prefix\":[1e39]}}}}")
                .contains("[query.prefix][0] is not a finite"));
        assertTrue(messageOf(pre + "{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{\"cells\":{}}}}}")
                .contains("[query.prefix] is required"));
        assertTrue(messageOf(pre + "{\"mode\":\"keyed\",\"query\":{\"prefix\":[1]}}}}")
                .contains("[field] is required"));
        assertTrue(messageOf(pre
                        + "{\"field\":\"embedding\",\"mode\":\"keyed\",\"query\":{\"prefix\":[1],\"cells\":{\"1\":\""
                        + b64(Float.POSITIVE_INFINITY) + "\"}}}}}")
                .contains("[query.cells.1][0] is not a finite"));
    }

    @Test
    public void keyedQueryChecksMapping() {
        Map<Integer, float[]> cells = new TreeMap<>();
        cells.put(5, new float[] {1, 2, 3});
        KeyedRescorePayload q = new KeyedRescorePayload(new float[] {1, 2}, cells, null);
        EncryptedFieldSpec spec = new EncryptedFieldSpec("embedding", "m1", 5, 2, 4, 16, 100, 1.0, PrefixLayout.PLAIN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.validate(spec));
        assertTrue(
                e.getMessage(),
                e.getMessage().contains("cell id 5 is out of range: field [embedding] has cells [0, 4)"));
        EncryptedFieldSpec wide = new EncryptedFieldSpec("embedding", "m1", 6, 2, 8, 16, 100, 1.0, PrefixLayout.PLAIN);
        e = assertThrows(IllegalArgumentException.class, () -> q.validate(wide));
        assertTrue(
                e.getMessage(),
                e.getMessage()
                        .contains("has 3 float32 values but field [embedding] has dimension - prefix_dimension = 4"));
        EncryptedFieldSpec other = new EncryptedFieldSpec("embedding", "m1", 6, 3, 8, 16, 100, 1.0, PrefixLayout.PLAIN);
        e = assertThrows(IllegalArgumentException.class, () -> q.validate(other));
        assertTrue(
                e.getMessage(),
                e.getMessage().contains("[query.prefix] has 2 values but field [embedding] has prefix width 3"));
    }
}
