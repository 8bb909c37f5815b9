package org.encryptedknn.rescore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.plugin.EncryptedKnnPlugin;
import org.junit.Test;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.io.stream.NamedWriteableAwareStreamInput;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.search.SearchModule;
import org.opensearch.search.builder.SearchSourceBuilder;

/** Plain JUnit (runs as root): XContent and wire round trips of the ckks rescore, and its parse-time 400s. */
public class CkksRescoreParsingTest {

    static final SearchModule MODULE = new SearchModule(Settings.EMPTY, List.of(new EncryptedKnnPlugin()));
    static final NamedXContentRegistry XCONTENT = new NamedXContentRegistry(MODULE.getNamedXContents());
    static final NamedWriteableRegistry WRITEABLES = new NamedWriteableRegistry(MODULE.getNamedWriteables());
    static final String PARAMS =
            "{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":289}";

    static SearchSourceBuilder source(String json) throws IOException {
        try (XContentParser p = JsonXContent.jsonXContent.createParser(
                XCONTENT, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, json)) {
            return SearchSourceBuilder.fromXContent(p);
        }
    }

    static String message(String json) {
        Exception e = assertThrows(Exception.class, () -> source(json));
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    static String body(String query) {
        return "{\"rescore\":{\"window_size\":50,\"encrypted_knn\":{\"field\":\"embedding\",\"mode\":\"ckks\",\"query\":"
                + query + "}}}";
    }

    @Test
    public void roundTrips() throws IOException {
        try (CkksContext ctx = CkksContext.create(CkksParameters.defaults());
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
            String ct = Base64.getEncoder().encodeToString(kh.encryptQuery(new float[] {0.5f, -0.25f}));
            // cells before ckks: the parameters may come last in the object
            SearchSourceBuilder parsed = source(
                    body("{\"prefix\":[1,2],\"cells\":{\"17\":\"" + ct + "\"},\"epoch\":2,\"ckks\":" + PARAMS + "}"));
            EncryptedKnnRescorerBuilder b =
                    (EncryptedKnnRescorerBuilder) parsed.rescores().get(0);
            assertEquals(RescoreMode.CKKS, b.mode());
            CkksRescorePayload q = b.ckksQuery();
            assertEquals(CkksParameters.defaults(), q.parameters());
            assertEquals(Integer.valueOf(2), q.epoch());
            assertEquals(ct, Base64.getEncoder().encodeToString(q.cells().get(17)));

            XContentBuilder x = JsonXContent.contentBuilder();
            parsed.toXContent(x, ToXContent.EMPTY_PARAMS);
            String json = x.toString();
            assertEquals(b, source(json).rescores().get(0));

            BytesStreamOutput out = new BytesStreamOutput();
            out.writeNamedWriteable(b);
            StreamInput in = new NamedWriteableAwareStreamInput(out.bytes().streamInput(), WRITEABLES);
            assertEquals(b, in.readNamedWriteable(org.opensearch.search.rescore.RescorerBuilder.class));
        }
    }

    @Test
    public void parseTimeErrorsNameTheField() {
        assertTrue(message(body("{\"prefix\":[1],\"cells\":{\"3\":\"@@\"},\"ckks\":" + PARAMS + "}"))
                .contains("[encrypted_knn] rescore.encrypted_knn.query.cells[3]: is not valid base64"));
        assertTrue(
                message(body("{\"prefix\":[1],\"cells\":{\"3\":\"AAAA\"},\"ckks\":" + PARAMS + "}"))
                        .contains(
                                "rescore.encrypted_knn.query.cells[3]: query ciphertext: not an encrypted-knn ciphertext (expected the EKW1 wire form)"));
        assertTrue(message(body("{\"prefix\":[1],\"cells\":{\"3\":\"AAAA\"}}"))
                .contains("rescore.encrypted_knn.query.ckks: is required"));
        assertTrue(message(body("{\"prefix\":[1],\"cells\":{},\"ckks\":" + PARAMS + "}"))
                .contains("at least one cell ciphertext"));
        assertTrue(
                message(
                                body(
                                        "{\"prefix\":[1],\"cells\":{\"3\":\"AAAA\"},\"ckks\":{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":40,\"block_width\":289}}"))
                        .contains(
                                "rescore.encrypted_knn.query.ckks: parameters {poly_degree: 4096, coeff_modulus_bits: [50], scale_bits: 40} are not accepted"));
        assertTrue(message(
                        body(
                                "{\"prefix\":[1],\"cells\":{\"3\":\"AAAA\"},\"ckks\":{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":0}}"))
                .contains("rescore.encrypted_knn.query.ckks.block_width: must be in [1, 65536], got 0"));
        assertTrue(message(body("{\"prefix\":[1],\"cells\":{\"3\":\"AAAA\"},\"ckks\":{\"poly_degree\":4096}}"))
                .contains("are all required"));
        assertTrue(message(body("{\"prefix\":[1],\"cells\":{\"3\":\"AAAA\"},\"ckks\":" + PARAMS + ",\"x\":1}"))
                .contains("unknown key [x]"));
        String huge = "A".repeat(400_000);
        assertTrue(message(body("{\"prefix\":[1],\"cells\":{\"3\":\"" + huge + "\"},\"ckks\":" + PARAMS + "}"))
                .contains("rescore.encrypted_knn.query.cells[3]: is 400000 base64 characters"));
        Map<Integer, byte[]> none = new TreeMap<>();
        assertThrows(
                IllegalArgumentException.class,
                () -> new CkksRescorePayload(new float[] {1}, none, null, CkksParameters.defaults()));
    }
}
