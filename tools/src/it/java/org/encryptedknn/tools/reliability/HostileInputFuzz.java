package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.he.CiphertextWire;
import org.encryptedknn.he.SealHeader;

/**
 * Hostile-input fuzzing of one gateway-mode node (master key in its keystore): sets up a small model, an index with
 * the encrypted_knn ingest pipeline, an index without it and a search pipeline, then sends N malformed requests,
 * round-robin over five categories (pipeline documents, encrypted documents, queries, model requests, rescore
 * ciphertexts), with a fixed seed. Checks: every answer is a 4xx; the node answers health green/yellow afterwards
 * with the same JVM start time (no restart) and a larger uptime; document counts and the model list are unchanged;
 * neither the master key's base64 nor its hex appears in any response body or in the node's log files.
 * Exits 1 if a check fails. Findings (2xx, 5xx, I/O errors) are printed with the category, the variant and the
 * first 200 characters of the body.
 *
 * <pre>java … org.encryptedknn.tools.reliability.HostileInputFuzz [--url http://127.0.0.1:9295] [--requests 10000]
 *     [--seconds 600] [--seed 20261127] --key-file /tmp/fuzz.key [--log-dir DIR | --name fuzz]</pre>
 */
public final class HostileInputFuzz {

    static final String MODEL = "fuzz-m";
    static final String PIPE_INDEX = "fuzz-pipe";
    static final String RAW_INDEX = "fuzz-raw";
    static final String INGEST = "fuzz-encrypt";
    static final String SEARCH = "fuzz-search";
    static final String SEARCH_UNKNOWN = "fuzz-search-unknown";
    static final int D = 16;
    static final int D_PUB = 4;
    /** The stored prefix's width: the model is fitted with the default augmented layout, d_pub + 1. */
    static final int P_WIDTH = D_PUB + 1;

    static final int CELLS = 4;
    static final String[] CATEGORIES = {"pipeline-doc", "encrypted-doc", "query", "model", "rescore"};

    private final OpenSearchHttp node;
    private final Random r;
    private final List<String> secrets = new ArrayList<>();
    private final long[] sent = new long[CATEGORIES.length];
    private final long[] fourXX = new long[CATEGORIES.length];
    private final Map<String, Integer> statusCounts = new LinkedHashMap<>();
    private final Map<String, Integer> findingClasses = new LinkedHashMap<>();
    private final Map<String, String> findingExamples = new LinkedHashMap<>();
    private int findingCount;
    private int secretInBody;
    private ObjectNode validEncrypted;
    private boolean unknownModelPipeline;

    private HostileInputFuzz(OpenSearchHttp node, long seed) {
        this.node = node;
        this.r = new Random(seed);
    }

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("HostileInputFuzz", args);
        String url = a.get("--url", "http://127.0.0.1:9295");
        int requests = a.integer("--requests", 10_000);
        int seconds = a.integer("--seconds", 600);
        long seed = Long.parseLong(a.get("--seed", "20261127"));
        String keyFile = a.get("--key-file", null);
        String logDir = a.get("--log-dir", null);
        String name = a.get("--name", null);
        if (logDir == null && name != null) {
            logDir = logDirOf(name);
        }
        HostileInputFuzz f = new HostileInputFuzz(new OpenSearchHttp(url), seed);
        if (keyFile != null) {
            String b64 = Files.readString(Path.of(keyFile)).trim();
            byte[] raw = Base64.getDecoder().decode(b64);
            f.secrets.add(b64);
            f.secrets.add(b64.replace("=", ""));
            f.secrets.add(HexFormat.of().formatHex(raw));
            f.secrets.add(HexFormat.of().withUpperCase().formatHex(raw));
        } else {
            System.out.println("WARNING: no --key-file: the secret checks are skipped");
        }
        System.exit(f.run(requests, seconds, logDir) ? 0 : 1);
    }

    private boolean run(int requests, int seconds, String logDir) {
        boolean ok = true;
        setup();
        JsonNode jvm0 = jvm();
        long start0 = jvm0.path("start").asLong();
        long count0Pipe = count(PIPE_INDEX);
        long count0Raw = count(RAW_INDEX);
        int models0 = node.get("/_plugins/encrypted_knn/models").path("models").size();
        System.out.printf(
                Locale.ROOT,
                "setup: model %s (d=%d, d_pub=%d, cells=%d, 200 training vectors), docs %s=%d %s=%d; "
                        + "node JVM start %d, uptime %d ms%n",
                MODEL,
                D,
                D_PUB,
                CELLS,
                PIPE_INDEX,
                count0Pipe,
                RAW_INDEX,
                count0Raw,
                start0,
                jvm0.path("uptime").asLong());

        long t0 = System.nanoTime();
        long deadline = t0 + seconds * 1_000_000_000L;
        int done = 0;
        for (int i = 0; i < requests && System.nanoTime() < deadline; i++) {
            int cat = i % CATEGORIES.length;
            switch (cat) {
                case 0 -> pipelineDoc(i);
                case 1 -> encryptedDoc(i);
                case 2 -> query(i);
                case 3 -> model(i);
                default -> rescore(i);
            }
            done++;
            if (done % 1000 == 0) {
                System.out.printf(Locale.ROOT, "  %d requests, %.0f s%n", done, (System.nanoTime() - t0) / 1e9);
            }
        }
        double elapsed = (System.nanoTime() - t0) / 1e9;

        System.out.printf(
                Locale.ROOT,
                "%n== hostile input: %d requests in %.1f s (%.0f req/s), seed fixed ==%n",
                done,
                elapsed,
                done / elapsed);
        long total4xx = 0;
        for (int c = 0; c < CATEGORIES.length; c++) {
            System.out.printf(Locale.ROOT, "%-14s sent %6d  4xx %6d%n", CATEGORIES[c], sent[c], fourXX[c]);
            total4xx += fourXX[c];
        }
        System.out.println("status codes: " + statusCounts);
        System.out.printf(
                Locale.ROOT, "every response a 4xx: %s (%d/%d)%n", total4xx == done ? "yes" : "NO", total4xx, done);
        if (total4xx != done) {
            ok = false;
            System.out.printf(
                    Locale.ROOT,
                    "findings: %d responses that are not a 4xx, %d classes (category/variant -> status):%n",
                    findingCount,
                    findingClasses.size());
            findingClasses.forEach(
                    (k, n) -> System.out.printf(Locale.ROOT, "  %s  x%d%n    %s%n", k, n, findingExamples.get(k)));
        }

        // node still up, same process
        JsonNode health = node.get("/_cluster/health");
        String status = health.path("status").asText();
        JsonNode jvm1 = jvm();
        boolean sameNode = jvm1.path("start").asLong() == start0
                && jvm1.path("uptime").asLong() > jvm0.path("uptime").asLong()
                && jvm1.path("id").asText().equals(jvm0.path("id").asText());
        boolean healthy = status.equals("green") || status.equals("yellow");
        System.out.printf(
                Locale.ROOT,
                "health after: %s; node %s JVM start %d -> %d, uptime %d -> %d ms: %s%n",
                status,
                jvm1.path("id").asText(),
                start0,
                jvm1.path("start").asLong(),
                jvm0.path("uptime").asLong(),
                jvm1.path("uptime").asLong(),
                sameNode ? "no restart" : "RESTARTED OR CHANGED");
        ok &= healthy && sameNode;

        long count1Pipe = count(PIPE_INDEX);
        long count1Raw = count(RAW_INDEX);
        int models1 = node.get("/_plugins/encrypted_knn/models").path("models").size();
        boolean countsSame = count1Pipe == count0Pipe && count1Raw == count0Raw && models1 == models0;
        System.out.printf(
                Locale.ROOT,
                "doc count %s %d -> %d, %s %d -> %d, models %d -> %d: %s%n",
                PIPE_INDEX,
                count0Pipe,
                count1Pipe,
                RAW_INDEX,
                count0Raw,
                count1Raw,
                models0,
                models1,
                countsSame ? "unchanged" : "CHANGED");
        ok &= countsSame;
        int removed = 0;
        for (JsonNode m : node.get("/_plugins/encrypted_knn/models").path("models")) {
            if (m.path("id").asText().startsWith("fuzz-bad-")) {
                node.delete("/_plugins/encrypted_knn/models/" + m.path("id").asText());
                removed++;
            }
        }
        if (removed > 0) {
            System.out.printf(Locale.ROOT, "deleted %d models that malformed model requests created%n", removed);
        }

        // a correct request still works
        JsonNode good = node.post(
                "/" + PIPE_INDEX + "/_search?search_pipeline=" + SEARCH,
                "{\"size\":3,\"query\":{\"encrypted_knn\":{\"embedding\":{\"vector\":" + vec(D) + ",\"k\":10}}}}");
        int hits = good.path("hits").path("hits").size();
        System.out.printf(Locale.ROOT, "correct pipeline query after: %d hits%n", hits);
        ok &= hits > 0;

        if (!secrets.isEmpty()) {
            System.out.printf(Locale.ROOT, "master key (base64 / hex) in response bodies: %d%n", secretInBody);
            ok &= secretInBody == 0;
            if (logDir == null) {
                System.out.println("log scan: no --log-dir or --name given: FAILED (cannot check)");
                ok = false;
            } else {
                ok &= scanLogs(Path.of(logDir));
            }
        }
        System.out.println(ok ? "RESULT: all checks passed" : "RESULT: CHECKS FAILED");
        return ok;
    }

    // ---------------------------------------------------------------- setup

    private void setup() {
        for (String p : new String[] {
            "/" + PIPE_INDEX,
            "/" + RAW_INDEX,
            "/_plugins/encrypted_knn/models/" + MODEL,
            "/_search/pipeline/" + SEARCH,
            "/_search/pipeline/" + SEARCH_UNKNOWN,
            "/_ingest/pipeline/" + INGEST
        }) {
            try {
                node.delete(p);
            } catch (OpenSearchHttp.ResponseException e) {
                if (e.status() != 404) {
                    throw e;
                }
            }
        }
        for (JsonNode m : node.get("/_plugins/encrypted_knn/models").path("models")) {
            String id = m.path("id").asText();
            if (id.startsWith("fuzz-bad-")) {
                node.delete("/_plugins/encrypted_knn/models/"
                        + id); // left over from an earlier run that found accepted bad models
            }
        }
        StringBuilder m = new StringBuilder("{\"dimension\":" + D + ",\"space\":\"cosine\",\"prefix_dimension\":"
                + D_PUB + ",\"cells\":" + CELLS + ",\"beta\":0.5,\"training_vectors\":[");
        for (int i = 0; i < 200; i++) {
            m.append(i == 0 ? "" : ",").append(vec(D));
        }
        node.put("/_plugins/encrypted_knn/models/" + MODEL, m.append("]}").toString());
        node.put(
                "/_ingest/pipeline/" + INGEST,
                "{\"processors\":[{\"encrypted_knn\":{\"model_id\":\"" + MODEL
                        + "\",\"field\":\"embedding\",\"record_form\":\"keyed\",\"encrypt_fields\":[\"body\"]}}]}"); // the mutations below alter c and z
        node.put(
                "/_search/pipeline/" + SEARCH,
                "{\"request_processors\":[{\"encrypted_knn_query\":{\"model_id\":\"" + MODEL
                        + "\",\"probe_cells\":2}}],\"response_processors\":[{\"encrypted_knn_rerank\":{\"model_id\":\""
                        + MODEL
                        + "\",\"decrypt_fields\":[\"body\"]}}]}");
        try {
            node.put(
                    "/_search/pipeline/" + SEARCH_UNKNOWN,
                    "{\"request_processors\":[{\"encrypted_knn_query\":{\"model_id\":\"nope\"}}]}");
            unknownModelPipeline = true;
        } catch (OpenSearchHttp.ResponseException e) {
            System.out.println("search pipeline with an unknown model refused at creation (" + e.status()
                    + "); that variant is skipped");
        }
        String mapping =
                "\"mappings\":{\"properties\":{\"body\":{\"type\":\"text\"},\"embedding\":{\"type\":\"encrypted_knn_vector\","
                        + "\"model_id\":\"" + MODEL + "\",\"dimension\":" + D + ",\"prefix_dimension\":" + D_PUB
                        + ",\"prefix_layout\":\"augmented\",\"cells\":" + CELLS + "}}}";
        node.put(
                "/" + PIPE_INDEX,
                "{\"settings\":{\"index.encrypted_knn\":true,\"index.default_pipeline\":\"" + INGEST
                        + "\",\"number_of_shards\":1,\"number_of_replicas\":0}," + mapping + "}");
        node.put(
                "/" + RAW_INDEX,
                "{\"settings\":{\"index.encrypted_knn\":true,\"number_of_shards\":1,\"number_of_replicas\":0},"
                        + mapping + "}");
        for (int i = 0; i < 20; i++) {
            node.put(
                    "/" + PIPE_INDEX + "/_doc/ok" + i,
                    "{\"embedding\":" + vec(D) + ",\"body\":\"valid document " + i + "\"}");
        }
        node.post("/" + PIPE_INDEX + "/_refresh", null);
        validEncrypted = (ObjectNode)
                node.get("/" + PIPE_INDEX + "/_doc/ok0").path("_source").path("embedding");
        for (int i = 0; i < 5; i++) {
            node.put(
                    "/" + RAW_INDEX + "/_doc/ok" + i,
                    node.get("/" + PIPE_INDEX + "/_doc/ok" + i).path("_source").toString());
        }
        node.post("/" + RAW_INDEX + "/_refresh", null);
    }

    private long count(String index) {
        node.post("/" + index + "/_refresh", null);
        return node.get("/" + index + "/_count").path("count").asLong();
    }

    /** id, JVM start time and uptime of the (single) node. */
    private JsonNode jvm() {
        ObjectNode out = OpenSearchHttp.JSON.createObjectNode();
        var it = node.get("/_nodes/jvm").path("nodes").fields();
        var e = it.next();
        out.put("id", e.getKey());
        out.put("start", e.getValue().path("jvm").path("start_time_in_millis").asLong());
        JsonNode stats = node.get("/_nodes/" + e.getKey() + "/stats/jvm")
                .path("nodes")
                .path(e.getKey())
                .path("jvm");
        out.put("uptime", stats.path("uptime_in_millis").asLong());
        return out;
    }

    // ---------------------------------------------------------------- sending

    private void send(int cat, String variant, String method, String path, String body) {
        sent[cat]++;
        int status;
        String answer;
        try {
            JsonNode res = switch (method) {
                case "PUT" -> node.put(path, body);
                default -> node.post(path, body);
            };
            status = 200;
            answer = res.toString();
        } catch (OpenSearchHttp.ResponseException e) {
            status = e.status();
            answer = e.body();
        } catch (UncheckedIOException e) {
            status = -1;
            answer = "I/O error: " + e.getMessage();
        }
        statusCounts.merge(Integer.toString(status), 1, Integer::sum);
        for (String s : secrets) {
            if (answer.contains(s)) {
                secretInBody++;
                finding(CATEGORIES[cat], variant, method, path, body, status, "MASTER KEY IN BODY: " + answer);
            }
        }
        if (status >= 400 && status < 500) {
            fourXX[cat]++;
        } else {
            finding(CATEGORIES[cat], variant, method, path, body, status, answer);
        }
    }

    private void finding(
            String cat, String variant, String method, String path, String request, int status, String body) {
        findingCount++;
        String key = String.format(Locale.ROOT, "[%s/%s] -> %d", cat, variant, status);
        if (findingClasses.merge(key, 1, Integer::sum) == 1) {
            findingExamples.put(
                    key,
                    String.format(
                            Locale.ROOT,
                            "first: %s %s%n      request: %s%n      response: %s",
                            method,
                            path,
                            request.length() > 200 ? request.substring(0, 200) + "…" : request,
                            body.length() > 200 ? body.substring(0, 200) : body));
        }
    }

    // ---------------------------------------------------------------- categories

    private void pipelineDoc(int i) {
        String path = "/" + PIPE_INDEX + "/_doc/bad" + i;
        int v = (i / CATEGORIES.length) % 12;
        String body;
        String variant;
        switch (v) {
            case 0 -> {
                int n;
                do {
                    n = r.nextInt(40);
                } while (n == D);
                variant = "wrong-dimension";
                body = "{\"embedding\":" + vec(n) + ",\"body\":\"x\"}";
            }
            case 1 -> {
                variant = "nan-string";
                body = "{\"embedding\":" + vecWith(D, "\"" + pick("NaN", "Infinity", "-Infinity", "nan") + "\"") + "}";
            }
            case 2 -> {
                variant = "non-finite-number";
                body = "{\"embedding\":" + vecWith(D, pick("1e39", "-1e39", "1e400", "3.5e38")) + "}";
            }
            case 3 -> {
                variant = "nan-literal";
                body = "{\"embedding\":" + vecWith(D, pick("NaN", "Infinity", "-Infinity")) + "}";
            }
            case 4 -> {
                variant = "string-element";
                body = "{\"embedding\":" + vecWith(D, pick("\"abc\"", "\"\"", "true", "null", "{}", "[]", "[1,2]"))
                        + "}";
            }
            case 5 -> {
                variant = "missing-field";
                body = pick("{\"body\":\"no vector\"}", "{}", "{\"embeding\":" + vec(D) + "}");
            }
            case 6 -> {
                variant = "nested-garbage";
                body = "{\"embedding\":"
                        + pick(
                                "{\"a\":{\"b\":" + vec(D) + "}}",
                                "[" + vec(D) + "]",
                                "\"" + vec(D) + "\"",
                                "42",
                                "true",
                                "{\"vector\":" + vec(D) + "}",
                                nest(r.nextInt(200) + 2),
                                "{\"p\":" + vec(D) + "}")
                        + "}";
            }
            case 7 -> {
                variant = "huge-array";
                body = "{\"embedding\":" + vec(pickInt(1000, 20_000, 100_000)) + "}";
            }
            case 8 -> {
                variant = "bad-text-field";
                body = "{\"embedding\":" + vec(D) + ",\"body\":"
                        + pick("{\"a\":1}", "42", "[1,2]", "[{\"x\":\"y\"}]", "true") + "}";
            }
            case 9 -> {
                variant = "empty-array";
                body = "{\"embedding\":[]}";
            }
            case 10 -> {
                variant = "invalid-json";
                body = pick("{\"embedding\":[1,2,", "{\"embedding\"", "[", "{\"embedding\":[1 2 3]}", "\u0000\u0001");
            }
            default -> {
                variant = "encrypted-then-broken";
                ObjectNode e = validEncrypted.deepCopy();
                e.put("c", CELLS + r.nextInt(100));
                body = "{\"embedding\":" + e + "}";
            }
        }
        send(0, variant, "PUT", path, body);
    }

    private void encryptedDoc(int i) {
        String path = "/" + RAW_INDEX + "/_doc/bad" + i;
        int v = (i / CATEGORIES.length) % 14;
        ObjectNode e = validEncrypted.deepCopy();
        String variant;
        String raw = null;
        switch (v) {
            case 0 -> {
                variant = "bad-p-length";
                int n;
                do {
                    n = r.nextInt(30);
                } while (n == P_WIDTH);
                e.set("p", floats(n));
            }
            case 1 -> {
                variant = "p-non-number";
                ArrayNode p = floats(P_WIDTH);
                p.set(r.nextInt(P_WIDTH), OpenSearchHttp.JSON.getNodeFactory().textNode("NaN"));
                e.set("p", p);
            }
            case 2 -> {
                variant = "p-non-finite";
                raw = e.toString().replaceFirst("\"p\":\\[[^\\]]*\\]", "\"p\":" + vecWith(P_WIDTH, "1e39"));
            }
            case 3 -> {
                variant = "bad-base64-n";
                e.put("n", pick("!!!!", "not base64 at all", "AAAA=A==", "\u00e9\u00e9"));
            }
            case 4 -> {
                variant = "n-wrong-length";
                e.put("n", b64(pickInt(0, 1, 12, 15, 17, 64)));
            }
            case 5 -> {
                variant = "bad-base64-z";
                e.put("z", "%" + e.path("z").asText().substring(1));
            }
            case 6 -> {
                variant = "z-wrong-length";
                e.put("z", b64(pickInt(0, 3, 44, 47, 49, 52, 4096)));
            }
            case 7 -> {
                variant = "z-non-finite";
                byte[] z = Base64.getDecoder().decode(e.path("z").asText());
                int at = 4 * r.nextInt(z.length / 4);
                z[at] = 0;
                z[at + 1] = 0;
                z[at + 2] = (byte) 0xc0;
                z[at + 3] = (byte) 0x7f; // NaN
                e.put("z", Base64.getEncoder().encodeToString(z));
            }
            case 8 -> {
                variant = "cell-out-of-range";
                raw = e.toString()
                        .replaceFirst(
                                "\"c\":\\d+",
                                "\"c\":" + pick("4", "-1", "65536", "99999999999", "2147483648", "1.5", "\"x\""));
            }
            case 9 -> {
                variant = "epoch-0";
                raw = e.toString()
                        .replaceFirst("\"e\":\\d+", "\"e\":" + pick("0", "-1", "\"1\"", "1.5", "null", "4294967297"));
            }
            case 10 -> {
                variant = "extra-key";
                e.put(pick("x", "vector", "P", "model_id"), 1);
            }
            case 11 -> {
                variant = "missing-key";
                e.remove(pick("p", "n", "c", "z", "e"));
            }
            case 12 -> {
                variant = "duplicate-key";
                raw = e.toString().replaceFirst("\\{", "{\"c\":0,");
            }
            default -> {
                variant = "plain-vector";
                raw = pick(vec(D), vec(P_WIDTH), "\"abc\"", "7", "{\"vector\":" + vec(D) + "}");
            }
        }
        String doc = "{\"embedding\":" + (raw != null ? raw : e.toString()) + "}";
        send(1, variant, "PUT", path, doc);
    }

    private void query(int i) {
        int v = (i / CATEGORIES.length) % 10;
        String enc = "\"encrypted_vector\":" + vec(P_WIDTH);
        String variant;
        String path = "/" + PIPE_INDEX + "/_search";
        String q;
        switch (v) {
            case 0 -> {
                variant = "bad-k";
                q = enc + ",\"k\":" + pick("0", "-1", "10001", "\"x\"", "1.5", "null", "2147483648", "[]");
            }
            case 1 -> {
                variant = "wrong-length";
                int n;
                do {
                    n = r.nextInt(40);
                } while (n == P_WIDTH);
                q = "\"encrypted_vector\":" + vec(n) + ",\"k\":10";
            }
            case 2 -> {
                variant = "plain-vector-no-pipeline";
                q = "\"vector\":" + vec(D) + ",\"k\":10";
            }
            case 3 -> {
                variant = "plain-vector-wrong-dimension";
                path += "?search_pipeline=" + SEARCH;
                int n;
                do {
                    n = r.nextInt(40);
                } while (n == D);
                q = "\"vector\":" + vec(n) + ",\"k\":10";
            }
            case 4 -> {
                variant = "unknown-model";
                q = enc + ",\"k\":10,\"model_id\":\"" + pick("nope", "", "fuzz-m2", "../x") + "\"";
                if (unknownModelPipeline && r.nextBoolean()) {
                    variant = "unknown-model-pipeline";
                    path += "?search_pipeline=" + SEARCH_UNKNOWN;
                    q = "\"vector\":" + vec(D) + ",\"k\":10";
                }
            }
            case 5 -> {
                variant = "bad-epoch";
                q = enc + ",\"k\":10,\"epoch\":" + pick("0", "-1", "\"x\"", "1.5", "[]");
            }
            case 6 -> {
                variant = "non-finite";
                q = "\"encrypted_vector\":" + vecWith(P_WIDTH, pick("\"NaN\"", "1e39", "\"Infinity\"", "null", "true"))
                        + ",\"k\":10";
            }
            case 7 -> {
                variant = "unknown-key";
                q = enc + ",\"k\":10,\"" + pick("colour", "vectors", "K", "boost_mode") + "\":1";
            }
            case 8 -> {
                variant = "bad-num-candidates";
                q = enc + ",\"k\":10,\"num_candidates\":" + pick("5", "0", "10001", "-3", "\"x\"");
            }
            default -> {
                variant = "both-vectors-or-none";
                q = pick(enc + ",\"vector\":" + vec(D) + ",\"k\":10", "\"k\":10", enc);
            }
        }
        send(2, variant, "POST", path, "{\"query\":{\"encrypted_knn\":{\"embedding\":{" + q + "}}}}");
    }

    private void model(int i) {
        int v = (i / CATEGORIES.length) % 10;
        String variant;
        String body;
        int n = 20;
        switch (v) {
            case 0 -> {
                variant = "bad-dimension";
                body = modelBody(pick("0", "-1", "1", "16001", "\"x\"", "1.5", "null"), D, "\"cosine\"", n, "");
            }
            case 1 -> {
                variant = "nan-training";
                body = modelBody("16", D, "\"cosine\"", n, "")
                        .replaceFirst(
                                "\\[\\[[^\\]]*\\]",
                                "[" + vecWith(D, pick("NaN", "\"NaN\"", "1e39", "\"abc\"", "null")));
            }
            case 2 -> {
                variant = "unknown-space";
                body = modelBody("16", D, pick("\"euclid\"", "\"\"", "42", "null", "\"cosine_similarity\""), n, "");
            }
            case 3 -> {
                variant = "too-few-vectors";
                body = modelBody("16", D, "\"cosine\"", r.nextInt(CELLS), "");
            }
            case 4 -> {
                variant = "unknown-field";
                body = modelBody(
                        "16", D, "\"cosine\"", n, ",\"" + pick("colour", "master_key", "basis", "Cells") + "\":1");
            }
            case 5 -> {
                variant = "ragged-vectors";
                body = modelBody("16", D, "\"cosine\"", n, "")
                        .replaceFirst("\\[\\[[^\\]]*\\]", "[" + vec(r.nextInt(D)));
            }
            case 6 -> {
                variant = "bad-cells";
                body = modelBody("16", D, "\"cosine\"", n, ",\"cells\":" + pick("0", "-1", "65537", "\"x\"", "1000"));
            }
            case 7 -> {
                variant = "bad-prefix";
                body = modelBody(
                        "16", D, "\"cosine\"", n, ",\"prefix_dimension\":" + pick("0", "16", "17", "-4", "\"x\""));
            }
            case 8 -> {
                variant = "bad-beta";
                body = modelBody("16", D, "\"cosine\"", n, ",\"beta\":" + pick("-1", "\"x\"", "1e39", "null"));
            }
            default -> {
                variant = "garbage-shape";
                body = pick(
                        "{}",
                        "[]",
                        "{\"dimension\":16}",
                        "{\"dimension\":16,\"training_vectors\":\"x\"}",
                        "{\"dimension\":16,\"training_vectors\":[1,2,3]}",
                        "{\"dimension\":16,\"training_vectors\":[[]]}",
                        "nul");
            }
        }
        send(3, variant, "PUT", "/_plugins/encrypted_knn/models/fuzz-bad-" + i, body);
    }

    private String modelBody(String dimension, int d, String space, int vectors, String extra) {
        StringBuilder b = new StringBuilder("{\"dimension\":" + dimension + ",\"space\":" + space);
        if (!extra.contains("\"cells\"")) {
            b.append(",\"cells\":").append(CELLS);
        }
        b.append(extra).append(",\"training_vectors\":[");
        for (int j = 0; j < vectors; j++) {
            b.append(j == 0 ? "" : ",").append(vec(d));
        }
        return b.append("]}").toString();
    }

    private void rescore(int i) {
        int v = (i / CATEGORIES.length) % 12;
        String variant;
        String mode = "keyed";
        String cells;
        String prefix = vec(P_WIDTH);
        String ckks = "{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":12}";
        String extra = "";
        int zBytes = 4 * (D - P_WIDTH);
        switch (v) {
            case 0 -> {
                variant = "keyed-bad-base64";
                cells = "{\"0\":\"" + pick("!!!!", "A", "AAA", "====", "\u00e9") + "\"}";
            }
            case 1 -> {
                variant = "keyed-wrong-length";
                int n;
                do {
                    n = r.nextInt(200);
                } while (n == zBytes);
                cells = "{\"1\":\"" + b64(n) + "\"}";
            }
            case 2 -> {
                variant = "keyed-cell-out-of-range";
                cells = "{\"" + pick("4", "-1", "x", "99999999999", "1.0", "") + "\":\"" + b64(zBytes) + "\"}";
            }
            case 3 -> {
                variant = "keyed-prefix-or-mode";
                cells = "{\"0\":\"" + b64(zBytes) + "\"}";
                if (r.nextBoolean()) {
                    prefix = pick(vec(P_WIDTH + 1), vec(0), vecWith(P_WIDTH, "\"NaN\""), "\"x\"");
                } else {
                    mode = pick("ckks2", "", "KEYED", "plain");
                }
            }
            case 4 -> {
                variant = "keyed-too-many-cells";
                StringBuilder b = new StringBuilder("{");
                String z = b64(zBytes);
                for (int c = 0; c < 5000; c++) {
                    b.append(c == 0 ? "" : ",")
                            .append('"')
                            .append(c)
                            .append("\":\"")
                            .append(z)
                            .append('"');
                }
                cells = b.append('}').toString();
            }
            case 5 -> {
                variant = "ckks-random-bytes";
                mode = "ckks";
                cells = "{\"0\":\"" + b64(1 + r.nextInt(60_000)) + "\"}";
            }
            case 6 -> {
                variant = "ckks-header-random-payload";
                mode = "ckks";
                cells = "{\"" + r.nextInt(CELLS) + "\":\""
                        + Base64.getEncoder().encodeToString(sealLike(16 + r.nextInt(60_000), pickInt(0, 2), true))
                        + "\"}";
            }
            case 7 -> {
                variant = "ckks-truncated";
                mode = "ckks";
                byte[] full = sealLike(20_000 + r.nextInt(40_000), pickInt(0, 2), true);
                byte[] cut = java.util.Arrays.copyOf(full, r.nextInt(full.length));
                cells = "{\"0\":\"" + Base64.getEncoder().encodeToString(cut) + "\"}";
            }
            case 8 -> {
                variant = "ckks-bad-base64";
                mode = "ckks";
                cells = "{\"0\":\"!!"
                        + Base64.getEncoder()
                                .encodeToString(sealLike(1000, 0, true))
                                .substring(2) + "\"}";
            }
            case 9 -> {
                variant = "ckks-wrong-parameters";
                mode = "ckks";
                cells = "{\"0\":\"" + Base64.getEncoder().encodeToString(sealLike(30_000, 0, true)) + "\"}";
                ckks = pick(
                        "{\"poly_degree\":8192,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":12}",
                        "{\"poly_degree\":1024,\"coeff_modulus_bits\":[20],\"scale_bits\":10,\"block_width\":12}",
                        "{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":0}",
                        "{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":5}",
                        "{\"poly_degree\":4096,\"coeff_modulus_bits\":[50],\"scale_bits\":25,\"block_width\":99999}",
                        "{\"poly_degree\":\"x\"}",
                        "null",
                        "{}");
            }
            case 10 -> {
                variant = "ckks-oversized";
                mode = "ckks";
                cells = "{\"0\":\""
                        + pick("A".repeat(400_000), Base64.getEncoder().encodeToString(sealLike(300_000, 0, true)))
                        + "\"}";
            }
            default -> {
                variant = "ckks-header-lies";
                mode = "ckks";
                byte[] b = sealLike(1000 + r.nextInt(10_000), pickInt(0, 1, 2, 7), false);
                cells = "{\"0\":\"" + Base64.getEncoder().encodeToString(b) + "\"}";
                extra = r.nextBoolean() ? ",\"epoch\":0" : "";
            }
        }
        String q = "\"prefix\":" + prefix + ",\"cells\":" + cells + extra
                + (mode.equals("ckks") ? ",\"ckks\":" + ckks : "");
        String body = "{\"size\":10,\"query\":{\"encrypted_knn\":{\"embedding\":{\"encrypted_vector\":" + vec(P_WIDTH)
                + ",\"k\":10}}},"
                + "\"rescore\":{\"window_size\":10,\"encrypted_knn\":{\"field\":\"embedding\",\"mode\":\"" + mode
                + "\",\"query\":{" + q + "}}}}";
        send(4, variant, "POST", "/" + PIPE_INDEX + "/_search", body);
    }

    /**
     * A SEAL-4.0-looking serialization (header with a consistent size field when {@code consistent}, random payload) in a
     * valid wire form, so that it gets past the unpacking to the SEAL checks.
     */
    private byte[] sealLike(int length, int compression, boolean consistent) {
        byte[] b = new byte[Math.max(16, length)];
        r.nextBytes(b);
        long size = consistent ? b.length : (r.nextBoolean() ? Long.MAX_VALUE : b.length * 1000L + 1);
        SealHeader.write(b, compression, size);
        return CiphertextWire.pack(b);
    }

    // ---------------------------------------------------------------- helpers

    private String vec(int n) {
        StringBuilder b = new StringBuilder(n * 10 + 2).append('[');
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.4f", r.nextGaussian()));
        }
        return b.append(']').toString();
    }

    /** A vector of n random values with one element replaced by {@code bad}. */
    private String vecWith(int n, String bad) {
        int at = r.nextInt(n);
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append(i == at ? bad : String.format(Locale.ROOT, "%.4f", r.nextGaussian()));
        }
        return b.append(']').toString();
    }

    private ArrayNode floats(int n) {
        ArrayNode a = OpenSearchHttp.JSON.createArrayNode();
        for (int i = 0; i < n; i++) {
            a.add((float) r.nextGaussian());
        }
        return a;
    }

    private String nest(int depth) {
        return "[".repeat(depth) + "1" + "]".repeat(depth);
    }

    private String b64(int bytes) {
        byte[] b = new byte[bytes];
        r.nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }

    @SafeVarargs
    private <T> T pick(T... options) {
        return options[r.nextInt(options.length)];
    }

    private int pickInt(int... options) {
        return options[r.nextInt(options.length)];
    }

    // ---------------------------------------------------------------- logs

    private boolean scanLogs(Path dir) {
        if (!Files.isDirectory(dir)) {
            System.out.println("log scan: " + dir + " is not a readable directory: FAILED (cannot check)");
            return false;
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).toList();
        } catch (IOException e) {
            System.out.println("log scan: cannot list " + dir + ": " + e.getMessage() + ": FAILED");
            return false;
        }
        long bytes = 0;
        int unreadable = 0;
        List<String> hits = new ArrayList<>();
        for (Path f : files) {
            String text;
            try (InputStream in = f.toString().endsWith(".gz")
                    ? new GZIPInputStream(Files.newInputStream(f))
                    : Files.newInputStream(f)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                in.transferTo(out);
                bytes += out.size();
                text = out.toString(StandardCharsets.ISO_8859_1);
            } catch (IOException e) {
                unreadable++;
                System.out.println("log scan: cannot read " + f + ": " + e.getMessage());
                continue;
            }
            for (String s : secrets) {
                if (text.contains(s)) {
                    hits.add(f.getFileName().toString());
                }
            }
        }
        boolean ok = hits.isEmpty() && unreadable == 0 && !files.isEmpty();
        System.out.printf(
                Locale.ROOT,
                "log scan: %d files, %d bytes in %s; master key (base64 / hex) found in: %s; unreadable: %d: %s%n",
                files.size(),
                bytes,
                dir,
                hits.isEmpty() ? "none" : hits,
                unreadable,
                ok ? "ok" : "FAILED");
        return ok;
    }

    private static String logDirOf(String name) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "scripts/opensearch.sh", "paths", "--name", name)
                .redirectErrorStream(false)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        for (String line : out.split("\n")) {
            if (line.startsWith("EKNN_NODE_LOGS=")) {
                return line.substring("EKNN_NODE_LOGS=".length()).trim();
            }
        }
        return null;
    }
}
