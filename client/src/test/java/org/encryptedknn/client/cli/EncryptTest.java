package org.encryptedknn.client.cli;

import static org.encryptedknn.client.cli.CliTestSupport.CELLS;
import static org.encryptedknn.client.cli.CliTestSupport.D;
import static org.encryptedknn.client.cli.CliTestSupport.keyAndModel;
import static org.encryptedknn.client.cli.CliTestSupport.run;
import static org.encryptedknn.client.cli.CliTestSupport.vectors;
import static org.encryptedknn.client.cli.CliTestSupport.writeLines;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.encryptedknn.client.DocumentCipher;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.KeyFiles;
import org.encryptedknn.client.ModelFiles;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.prefix.ScaleAndPerturb;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.VectorTransform;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * encrypt: bulk NDJSON with valid records of the right lengths ({p,n,s,e} by default, {p,n,c,z,e} with --record-form
 * keyed), encrypted fields, no plaintext vector.
 */
public class EncryptTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void bulkNdjsonWithEncryptedRecords() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Path[] km = keyAndModel(dir);
        int n = 40;
        float[][] v = vectors(n, 11);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
            doc.put("id", "doc-" + i);
            ArrayNodeWriter.put(doc, "embedding", v[i]);
            doc.put("body", "the secret body of message " + i);
            doc.put("sender", "sender-" + (i % 3) + "@example.org");
            doc.put("lang", "en");
            lines.add(doc.toString());
        }
        Path input = writeLines(dir.resolve("docs.jsonl"), lines);
        Path out = dir.resolve("bulk.ndjson");
        CliTestSupport.Result r = run(
                "encrypt",
                "--key",
                km[0].toString(),
                "--model",
                km[1].toString(),
                "--input",
                input.toString(),
                "--index",
                "mail",
                "--id-field",
                "id",
                "--record-form",
                "keyed",
                "--encrypt-fields",
                "body",
                "--deterministic-fields",
                "sender",
                "--output",
                out.toString());
        assertEquals(r.toString(), 0, r.code());
        assertEquals("", r.out());

        String ndjson = Files.readString(out, StandardCharsets.UTF_8);
        assertTrue(ndjson.endsWith("\n"));
        List<String> outLines = List.of(ndjson.split("\n"));
        assertEquals(2 * n, outLines.size());

        try (MasterKey master = KeyFiles.read(km[0]);
                KeyDerivation keys = new KeyDerivation(master)) {
            EncryptionModel model = ModelFiles.read(km[1], keys, km[0]);
            int dp = model.prefixWidth(); // the stored prefix: d_pub + 1 (augmented)
            int dr = model.residualLength(); // stored z: d − d_pub + 1 (padded)
            try (VectorTransform transform = new VectorTransform(model, keys)) {
                Map<String, String> senderCiphertexts = new java.util.HashMap<>();
                for (int i = 0; i < n; i++) {
                    JsonNode action = OpenSearchHttp.JSON.readTree(outLines.get(2 * i));
                    assertEquals("mail", action.path("index").path("_index").asText());
                    assertEquals("doc-" + i, action.path("index").path("_id").asText());
                    JsonNode doc = OpenSearchHttp.JSON.readTree(outLines.get(2 * i + 1));
                    JsonNode rec = doc.path("embedding");
                    assertTrue(rec.isObject());
                    assertEquals(Set5.KEYS, fieldNames(rec));
                    assertEquals(dp, rec.path("p").size());
                    rec.path("p").forEach(x -> assertTrue(x.isNumber() && Double.isFinite(x.asDouble())));
                    assertEquals(
                            ScaleAndPerturb.NONCE_LENGTH,
                            Base64.getDecoder().decode(rec.path("n").asText()).length);
                    int c = rec.path("c").asInt(-1);
                    assertTrue(c >= 0 && c < CELLS);
                    assertEquals(
                            4 * dr, Base64.getDecoder().decode(rec.path("z").asText()).length);
                    assertEquals(1, rec.path("e").asInt());
                    // the record is the encryption of this vector: the key holder's exact score against itself is 1
                    EncryptedVector ev = EncryptedSearch.parseRecord(rec, "embedding", RecordFormat.Shape.of(model));
                    assertEquals(1.0, transform.score(transform.encryptQuery(v[i]), ev), 1e-4);
                    // nonce from the id: re-encrypting gives the same record
                    assertEquals(ev, transform.encryptDocument(v[i], "doc-" + i, "embedding"));

                    assertTrue(doc.path("body").asText().startsWith(FieldCipher.RANDOMIZED_PREFIX));
                    assertTrue(doc.path("sender").asText().startsWith("ekd1:"));
                    assertEquals("en", doc.path("lang").asText());
                    assertEquals("doc-" + i, doc.path("id").asText());
                    Map<String, String> plain =
                            DocumentCipher.decryptFields(keys, doc, "mail", "doc-" + i, List.of("body", "sender"));
                    // the body is bound to its document: under another _id it does not decrypt
                    try {
                        DocumentCipher.decryptFields(keys, doc, "mail", "doc-x", List.of("body"));
                        fail("a body moved to another document decrypted");
                    } catch (IllegalArgumentException expected) {
                        // ok
                    }
                    assertEquals("the secret body of message " + i, plain.get("body"));
                    assertEquals("sender-" + (i % 3) + "@example.org", plain.get("sender"));
                    String previous = senderCiphertexts.putIfAbsent(
                            plain.get("sender"), doc.path("sender").asText());
                    if (previous != null) {
                        assertEquals(
                                "deterministic: equal values, equal ciphertexts",
                                previous,
                                doc.path("sender").asText());
                    }
                }
            }
        }
        // no plaintext vector: the output's numbers, as whole tokens, hold at most one value of any input vector (a
        // leaked vector shows all of them; a single encrypted prefix value may equal an input value by chance, and a
        // substring test also matched a longer number that merely starts with an input value)
        Set<String> numbers = new HashSet<>();
        Matcher m = Pattern.compile("-?[0-9]+\\.[0-9]+(?:E-?[0-9]+)?").matcher(ndjson);
        while (m.find()) {
            numbers.add(m.group());
        }
        for (int i = 0; i < n; i++) {
            int found = 0;
            for (float f : v[i]) {
                found += numbers.contains(Float.toString(f)) ? 1 : 0;
            }
            assertTrue("vector " + i + ": " + found + " of its values found in the output", found <= 1);
        }
        assertFalse(ndjson.contains("secret body"));
        assertFalse(ndjson.contains("@example.org"));
    }

    @Test
    public void withoutIdEachDocumentGetsARandomIdAndStdoutIsUsed() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Path[] km = keyAndModel(dir);
        float[][] v = vectors(3, 12);
        List<String> lines = new ArrayList<>();
        for (float[] x : v) {
            lines.add(CliTestSupport.array(x)); // bare arrays are not documents
        }
        Path bare = writeLines(dir.resolve("bare.jsonl"), lines);
        String line = run(
                        "encrypt",
                        "--key",
                        km[0].toString(),
                        "--model",
                        km[1].toString(),
                        "--input",
                        bare.toString(),
                        "--index",
                        "mail")
                .assertOneLineError();
        assertTrue(line, line.contains("line 1: expected a JSON object"));

        lines.clear();
        for (float[] x : v) {
            lines.add("{\"embedding\":" + CliTestSupport.array(x) + "}");
        }
        lines.add(lines.get(0)); // a duplicate: another id, so another ciphertext (no vector-only nonce any more)
        Path input = writeLines(dir.resolve("docs.jsonl"), lines);
        CliTestSupport.Result r = run(
                "encrypt",
                "--key",
                km[0].toString(),
                "--model",
                km[1].toString(),
                "--input",
                input.toString(),
                "--index",
                "mail");
        assertEquals(r.toString(), 0, r.code());
        String[] out = r.out().split("\n");
        assertEquals(8, out.length);
        JsonNode action = OpenSearchHttp.JSON.readTree(out[0]);
        assertEquals("mail", action.path("index").path("_index").asText());
        String id0 = action.path("index").path("_id").asText();
        assertEquals(36, id0.length()); // a UUID
        assertNotEquals(
                id0,
                OpenSearchHttp.JSON.readTree(out[6]).path("index").path("_id").asText());
        assertNotEquals(out[1], out[7]);
        assertNotEquals(out[1], out[3]);
        assertTrue(r.err().contains("no --id-field"));
        // without --record-form: sealed records, no cell and no z
        assertEquals(
                Set.of("p", "n", "s", "e"),
                fieldNames(OpenSearchHttp.JSON.readTree(out[1]).path("embedding")));
        assertEquals(D, v[0].length);
    }

    private static java.util.Set<String> fieldNames(JsonNode node) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The fields of a stored record. */
    static final class Set5 {
        static final java.util.Set<String> KEYS = new java.util.TreeSet<>(List.of("c", "e", "n", "p", "z"));
    }

    /** Writes float arrays into Jackson trees. */
    static final class ArrayNodeWriter {
        static void put(ObjectNode doc, String field, float[] v) {
            var a = doc.putArray(field);
            for (float f : v) {
                a.add(f);
            }
        }
    }
}
