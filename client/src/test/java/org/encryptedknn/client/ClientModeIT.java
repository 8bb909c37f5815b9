package org.encryptedknn.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.encryptedknn.client.cli.Main;
import org.encryptedknn.corpus.CorpusMessage;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.RecordForm;
import org.encryptedknn.transform.VectorTransform;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Client mode end to end against a real node (scripts/test.sh passes {@code -Dtests.rest.cluster=host:port}): the key,
 * the model and the CKKS secret key stay in this JVM; the node stores and searches ciphertexts only. Every request
 * body is recorded ({@link RequestLog}) and checked: no run of 8 consecutive values of any plaintext document or
 * query vector, as Jackson writes floats (or doubles), and no plaintext subject.
 *
 * <p>Plain JUnit 4 (no OpenSearchTestCase): it only talks HTTP.
 */
public class ClientModeIT {

    static final String INDEX = "client-mode-it";
    static final String CLI_INDEX = "client-mode-it-cli";
    static final String FIELD = "embedding";
    static final int DOCS = 280;
    static final int QUERIES = 20;
    static final int K = 100;
    static final int TOP = 10;
    static final int PROBE = 4;
    static final double SCORE_TOLERANCE = 1e-4;

    static float[][] docs;
    static float[][] queries;
    static List<CorpusMessage> messages;
    static OpenSearchHttp node;
    static RequestLog log = new RequestLog();

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @BeforeClass
    public static void setUp() {
        String cluster = System.getProperty("tests.rest.cluster");
        assertNotNull("run with -Dtests.rest.cluster=host:port (scripts/test.sh does)", cluster);
        String first = cluster.split(",")[0].trim();
        node = new OpenSearchHttp(first.startsWith("http") ? first : "http://" + first).observe(log);
        EmbeddedCorpus corpus = EmbeddedCorpus.forTests(DOCS + QUERIES);
        EmbeddedCorpus.Split split = corpus.split(DOCS, QUERIES);
        docs = split.index().vectors();
        queries = split.queries().vectors();
        messages = split.index().messages();
    }

    @AfterClass
    public static void cleanUp() {
        if (node != null) {
            node.observe(null);
            for (String index : List.of(INDEX, CLI_INDEX)) {
                if (node.exists("/" + index)) {
                    node.delete("/" + index);
                }
            }
        }
    }

    @Test
    public void keyedAndCkksSearchWithoutAnyKeyOnTheNode() throws Exception {
        Path dir = tmp.getRoot().toPath();
        log.clear();
        try (MasterKey generated = KeyFiles.create(dir.resolve("master.key"), false)) {
            // what the key holder keeps: a key file and a sealed model file
        }
        try (MasterKey master = KeyFiles.read(dir.resolve("master.key"));
                KeyDerivation keys = new KeyDerivation(master)) {
            int d = docs[0].length;
            ModelParameters params = new ModelParameters(d, Space.COSINE, d / 4, 8, ModelParameters.DEFAULT_BETA, 1);
            ModelFiles.write(dir.resolve("model.json"), ModelFitter.fit("client-it", params, docs), keys);
            EncryptionModel model = ModelFiles.read(dir.resolve("model.json"), keys, dir.resolve("master.key"));

            try (VectorTransform transform = new VectorTransform(model, keys);
                    DocumentCipher cipher = new DocumentCipher(
                            transform,
                            keys,
                            FIELD,
                            INDEX,
                            List.of("subject"),
                            List.of("group"),
                            RecordForm.KEYED)) { // what the keyed and ckks modes below score on the node
                ObjectNode body = Indices.encryptedIndexBody(FIELD, ModelMetadata.of(model), Indices.Hnsw.DEFAULT);
                Indices.properties(body)
                        .putObject("subject")
                        .put("type", "keyword")
                        .put("index", false);
                Indices.properties(body).putObject("group").put("type", "keyword");
                Indices.recreate(node, INDEX, body);
                Indices.bulkLoad(
                        node,
                        INDEX,
                        DOCS,
                        i -> {
                            ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
                            doc.set(FIELD, Indices.floats(docs[i]));
                            doc.put("subject", messages.get(i).subject());
                            doc.put("group", messages.get(i).group());
                            return cipher.encrypt(doc, docs[i], Integer.toString(i));
                        },
                        Indices.ProgressListener.NONE);
                assertEquals(DOCS, Indices.count(node, INDEX));

                // keyed_leaks_query_residuals, and key_holder (the default: no rescore, no residual query; the K
                // records come back and are scored here): the same candidates (k = size = K), the same exact top 10
                double recall = 0;
                List<List<String>> keyedTops = new ArrayList<>();
                for (float[] q : queries) {
                    EncryptedSearch keyed = new EncryptedSearch(transform, FIELD, q);
                    keyed.withCells(transform.probeCells(keyed.query(), PROBE));
                    List<String> keyedTop = checkedTop(
                            q, keyed.exactRanking(node.post("/" + INDEX + "/_search", keyed.keyedBody(K, K, K))), keys);
                    EncryptedSearch keyHolder = new EncryptedSearch(transform, FIELD, q);
                    ObjectNode request = keyHolder.keyHolderBody(K);
                    assertFalse(request.toString(), request.has("rescore"));
                    List<String> keyHolderTop =
                            checkedTop(q, keyHolder.exactRanking(node.post("/" + INDEX + "/_search", request)), keys);
                    assertEquals(keyedTop, keyHolderTop);
                    keyedTops.add(keyedTop);
                    recall += recall(keyHolderTop, exactTop(q));
                }
                recall /= QUERIES;
                System.out.printf(
                        Locale.ROOT,
                        "client mode, key_holder and keyed: recall@10 vs exact brute force = %.3f%n",
                        recall);
                assertTrue("recall@10 " + recall, recall >= 0.9);

                // keyed mode with a pre-filter on a deterministic field
                String group = messages.get(0).group();
                EncryptedSearch filtered = new EncryptedSearch(transform, FIELD, queries[0]);
                filtered.withCells(transform.probeCells(filtered.query(), PROBE));
                ObjectNode fb = filtered.keyedBody(K, K, K);
                ((ObjectNode) fb.path("query").path("encrypted_knn").path(FIELD))
                        .putObject("filter")
                        .putObject("term")
                        .put("group", cipher.deterministic("group", group));
                List<EncryptedSearch.ExactHit> fh = filtered.exactRanking(node.post("/" + INDEX + "/_search", fb));
                assertFalse(fh.isEmpty());
                for (EncryptedSearch.ExactHit h : fh) {
                    assertEquals(group, messages.get(Integer.parseInt(h.id())).group());
                }

                // ckks mode: two rounds when flagged hits could still reach the top 10
                double ckksRecall = 0;
                int agree = 0;
                try (CkksContext ctx = CkksContext.create(CkksParameters.forResidualLength(model.residualLength()));
                        CkksSecretKey sk = CkksSecretKey.generate(ctx);
                        CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
                    for (int qi = 0; qi < QUERIES; qi++) {
                        float[] q = queries[qi];
                        EncryptedSearch base = new EncryptedSearch(transform, FIELD, q);
                        base.withCells(transform.probeCells(base.query(), PROBE));
                        CkksSearch ckks = new CkksSearch(base, kh);
                        // CBOR (ciphertexts as byte strings) for the first round, JSON (base64) for a second one
                        List<CkksSearch.Hit> ranking =
                                ckks.ranking(node.postCbor("/" + INDEX + "/_search", ckks.body(K, K, K)));
                        ObjectNode followUp = ckks.followUpBody(ranking, TOP);
                        if (followUp != null) {
                            ranking = ckks.merge(ranking, node.post("/" + INDEX + "/_search", followUp));
                        }
                        List<String> top = new ArrayList<>();
                        for (CkksSearch.Hit h : ranking.subList(0, TOP)) {
                            assertTrue("top-10 hits are exact after the follow-up", h.exact());
                            checkedScore(q, h.id(), h.score());
                            top.add(h.id());
                        }
                        ckksRecall += recall(top, exactTop(q));
                        agree += new HashSet<>(top).equals(new HashSet<>(keyedTops.get(qi))) ? 1 : 0;
                    }
                }
                ckksRecall /= QUERIES;
                System.out.printf(
                        Locale.ROOT,
                        "client mode, ckks: recall@10 vs exact brute force = %.3f, top-10 = keyed top-10 for %d/%d queries%n",
                        ckksRecall,
                        agree,
                        QUERIES);
                assertTrue("ckks recall@10 " + ckksRecall, ckksRecall >= 0.9);
            }
        }
        assertNothingPlaintextSent(log.entries());
    }

    /** The CLI end to end: keygen, fit, mapping, encrypt to NDJSON, _bulk, search (keyed and ckks). */
    @Test
    public void commandLineAgainstTheNode() throws Exception {
        Path dir = tmp.getRoot().toPath();
        log.clear();
        Path key = dir.resolve("master.key");
        Path model = dir.resolve("model.json");
        Path sample = dir.resolve("sample.jsonl");
        Path input = dir.resolve("docs.jsonl");
        Path bulk = dir.resolve("bulk.ndjson");
        Path requests = dir.resolve("requests.jsonl");
        List<String> sampleLines = new ArrayList<>();
        List<String> docLines = new ArrayList<>();
        for (int i = 0; i < DOCS; i++) {
            sampleLines.add(Indices.floats(docs[i]).toString());
            ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
            doc.put("id", "m" + i);
            doc.set(FIELD, Indices.floats(docs[i]));
            doc.put("subject", messages.get(i).subject());
            doc.put("group", messages.get(i).group());
            docLines.add(doc.toString());
        }
        Files.write(sample, sampleLines, StandardCharsets.UTF_8);
        Files.write(input, docLines, StandardCharsets.UTF_8);
        cli(0, "keygen", "--out", key.toString());
        cli(
                0,
                "fit",
                "--key",
                key.toString(),
                "--vectors",
                sample.toString(),
                "--out",
                model.toString(),
                "--model-id",
                "cli-it",
                "--cells",
                "8");
        String mapping = cli(
                0,
                "mapping",
                "--model",
                model.toString(),
                "--encrypt-fields",
                "subject",
                "--deterministic-fields",
                "group");
        if (node.exists("/" + CLI_INDEX)) {
            node.delete("/" + CLI_INDEX);
        }
        node.put("/" + CLI_INDEX, mapping);
        cli(
                0,
                "encrypt",
                "--key",
                key.toString(),
                "--model",
                model.toString(),
                "--input",
                input.toString(),
                "--index",
                CLI_INDEX,
                "--id-field",
                "id",
                "--encrypt-fields",
                "subject",
                "--deterministic-fields",
                "group",
                "--output",
                bulk.toString());
        JsonNode r = node.postNdjson("/_bulk?refresh=true", Files.readString(bulk, StandardCharsets.UTF_8));
        assertFalse(r.toString(), r.path("errors").asBoolean());
        assertEquals(DOCS, node.get("/" + CLI_INDEX + "/_count").path("count").asInt());

        for (String mode : List.of("key_holder", "keyed_leaks_query_residuals", "ckks")) {
            for (int qi = 0; qi < 3; qi++) {
                String out = cli(
                        0,
                        "search",
                        "--key",
                        key.toString(),
                        "--model",
                        model.toString(),
                        "--url",
                        baseUrl(),
                        "--index",
                        CLI_INDEX,
                        "--vector",
                        Indices.floats(queries[qi]).toString(),
                        "--mode",
                        mode,
                        "--decrypt-fields",
                        "subject,group",
                        "--json",
                        "--log-requests",
                        requests.toString());
                String[] lines = out.strip().split("\n");
                assertEquals(TOP, lines.length);
                if (mode.equals("key_holder")) { // the default sends the encrypted prefix query and nothing else
                    List<String> logged = Files.readAllLines(requests, StandardCharsets.UTF_8);
                    String body = OpenSearchHttp.JSON
                            .readTree(logged.get(logged.size() - 1))
                            .path("body")
                            .asText();
                    assertTrue(body, body.contains("encrypted_vector"));
                    assertFalse(body, body.contains("rescore") || body.contains("cells"));
                }
                List<String> top = new ArrayList<>();
                for (String line : lines) {
                    JsonNode hit = OpenSearchHttp.JSON.readTree(line);
                    int id = Integer.parseInt(hit.path("id").asText().substring(1));
                    assertEquals(
                            VectorTransform.similarity(queries[qi], docs[id], Space.COSINE),
                            hit.path("score").asDouble(),
                            SCORE_TOLERANCE);
                    assertEquals(
                            messages.get(id).subject(),
                            hit.path("fields").path("subject").asText());
                    assertEquals(
                            messages.get(id).group(),
                            hit.path("fields").path("group").asText());
                    top.add(Integer.toString(id));
                }
                assertTrue(mode + " recall", recall(top, exactTop(queries[qi])) >= 0.8);
            }
        }
        // this test's requests (index, bulk) and the search command's own (its --log-requests file)
        List<RequestLog.Entry> sent = new ArrayList<>(log.entries());
        int searches = 0;
        for (String line : Files.readAllLines(requests, StandardCharsets.UTF_8)) {
            JsonNode e = OpenSearchHttp.JSON.readTree(line);
            sent.add(new RequestLog.Entry(
                    e.path("method").asText(),
                    e.path("path").asText(),
                    e.path("body").isNull() ? null : e.path("body").asText()));
            searches++;
        }
        assertTrue("the search command's requests were logged: " + searches, searches >= 9);
        assertNothingPlaintextSent(sent);
    }

    /** Checks a hit's score against the plaintext cosine of its document (id = index in docs); returns the index. */
    private static int checkedScore(float[] q, String hitId, double score) {
        int id = Integer.parseInt(hitId);
        assertEquals(
                "score of doc " + id, VectorTransform.similarity(q, docs[id], Space.COSINE), score, SCORE_TOLERANCE);
        return id;
    }

    /** The top-10 ids of an exact ranking, each score checked against the plaintext cosine and its fields decrypted. */
    private static List<String> checkedTop(float[] q, List<EncryptedSearch.ExactHit> hits, KeyDerivation keys) {
        List<String> top = new ArrayList<>();
        for (EncryptedSearch.ExactHit h : hits.subList(0, TOP)) {
            int id = checkedScore(q, h.id(), h.score());
            Map<String, String> plain =
                    DocumentCipher.decryptFields(keys, h.source(), INDEX, h.id(), List.of("subject", "group"));
            assertEquals(messages.get(id).subject(), plain.get("subject"));
            assertEquals(messages.get(id).group(), plain.get("group"));
            top.add(h.id());
        }
        return top;
    }

    private static String baseUrl() {
        String first = System.getProperty("tests.rest.cluster").split(",")[0].trim();
        return first.startsWith("http") ? first : "http://" + first;
    }

    private static String cli(int expected, String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code;
        try (java.io.PrintStream o = new java.io.PrintStream(out, true, StandardCharsets.UTF_8);
                java.io.PrintStream e = new java.io.PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, o, e);
        }
        assertEquals(
                String.join(" ", args)
                                .substring(
                                        0, Math.min(80, String.join(" ", args).length())) + "\n"
                        + err.toString(StandardCharsets.UTF_8),
                expected,
                code);
        return out.toString(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ what left the key holder

    static final Pattern NUMBER = Pattern.compile("-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?");
    static final Pattern SEPARATOR = Pattern.compile("\\s*,\\s*");
    static final int RUN = 8;

    /** Fails if any logged body holds 8 consecutive values of a plaintext vector, or a plaintext subject. */
    static void assertNothingPlaintextSent(List<RequestLog.Entry> entries) {
        Set<String> runs = plaintextRuns();
        // the detector itself works: a body with a plaintext vector is caught
        assertTrue(leaks(Indices.floats(docs[7]).toString(), runs));
        assertTrue(leaks("{\"v\":" + Arrays.toString(toDoubles(queries[3])) + "}", runs));
        int bodies = 0;
        for (RequestLog.Entry e : entries) {
            assertFalse(
                    "no gateway model endpoint is used in client mode: " + e.path(),
                    e.path().contains("/_plugins/encrypted_knn/models"));
            if (e.body() == null) {
                continue;
            }
            bodies++;
            assertFalse("plaintext vector values in " + e.method() + " " + e.path(), leaks(e.body(), runs));
            for (CorpusMessage m : messages) {
                String subject = m.subject().strip();
                if (subject.length() >= 8) {
                    String escaped = jsonEscaped(subject);
                    assertFalse(
                            "plaintext subject in " + e.method() + " " + e.path() + ": " + subject,
                            e.body().contains(escaped));
                }
            }
        }
        assertTrue("requests were logged", bodies > 0);
    }

    static boolean leaks(String body, Set<String> runs) {
        Matcher m = NUMBER.matcher(body);
        List<String> current = new ArrayList<>();
        int lastEnd = -1;
        while (m.find()) {
            boolean continues = lastEnd >= 0
                    && SEPARATOR.matcher(body.substring(lastEnd, m.start())).matches();
            if (!continues) {
                current.clear();
            }
            current.add(m.group());
            lastEnd = m.end();
            if (current.size() >= RUN
                    && runs.contains(String.join(",", current.subList(current.size() - RUN, current.size())))) {
                return true;
            }
        }
        return false;
    }

    /** Every run of 8 consecutive values of every document and query vector, as Float.toString and Double.toString write them. */
    static Set<String> plaintextRuns() {
        Set<String> runs = new HashSet<>();
        for (float[][] set : List.of(docs, queries)) {
            for (float[] v : set) {
                for (int i = 0; i + RUN <= v.length; i++) {
                    StringBuilder f = new StringBuilder();
                    StringBuilder d = new StringBuilder();
                    for (int j = i; j < i + RUN; j++) {
                        f.append(j == i ? "" : ",").append(v[j]);
                        d.append(j == i ? "" : ",").append((double) v[j]);
                    }
                    runs.add(f.toString());
                    runs.add(d.toString());
                }
            }
        }
        return runs;
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    private static String jsonEscaped(String s) {
        try {
            String quoted = OpenSearchHttp.JSON.writeValueAsString(s);
            return quoted.substring(1, quoted.length() - 1);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ exact brute force

    static List<String> exactTop(float[] q) {
        return ExactSearch.topKIds(q, docs, TOP, Space.COSINE);
    }

    static double recall(List<String> got, List<String> exact) {
        return got.stream().filter(new HashSet<>(exact)::contains).count() / (double) exact.size();
    }
}
