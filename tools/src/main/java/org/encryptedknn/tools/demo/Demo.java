package org.encryptedknn.tools.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.encryptedknn.client.ExactSearch;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.corpus.CorpusMessage;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.corpus.Embedder;
import org.encryptedknn.corpus.ProgressBar;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.Space;
import org.encryptedknn.tools.audit.PlaintextScan;
import org.encryptedknn.transform.RecordFormat;

/**
 * The end-to-end demo in gateway mode: the master key lives only in the node's keystore (put there by
 * scripts/demo.sh); this process is an unmodified application that sends plaintext vectors and text
 * through the encrypting ingest pipeline and the search pipeline, exactly as docs/design.md §4 shapes them.
 * A plaintext opensearch-knn index of the same vectors is the baseline printed next to each answer.
 *
 * <pre>java … org.encryptedknn.tools.demo.Demo --url http://127.0.0.1:9200 [--limit N] [query text]...</pre>
 */
public final class Demo {

    public static final String ENCRYPTED_INDEX = "demo-mail";
    static final String PLAIN_INDEX = "demo-mail-plain";
    public static final String FIELD = "embedding";
    public static final String MODEL_ID = "demo-minilm";
    public static final String INGEST_PIPELINE = "demo-encrypt";
    public static final String SEARCH_PIPELINE = "demo-search";
    static final int TRAINING_VECTORS = 2000;
    static final int CELLS = 64;
    static final int HELD_OUT = 200;
    static final int K = 100;
    static final int SHOW = 5;
    static final List<String> DEFAULT_QUERIES = List.of(
            "cheap prescription drugs without a doctor",
            "refinance your mortgage at a lower rate",
            "kernel panic after upgrading the linux kernel",
            "perl regular expression to match an email address",
            "spam filter is marking legitimate mail as spam");

    public static void main(String[] argv) {
        Options args = new Options("demo", argv, Set.of("--url", "--limit", "--data-dir"), Set.of());
        int limit = args.integer("--limit", 0, 0, Integer.MAX_VALUE);
        List<String> queries = args.positional().isEmpty() ? DEFAULT_QUERIES : args.positional();
        OpenSearchHttp node = new OpenSearchHttp(args.get("--url", "http://127.0.0.1:9200"));

        section("1. Corpus: SpamAssassin public mail corpus, embedded in-process with MiniLM (384-d)");
        EmbeddedCorpus corpus = EmbeddedCorpus.load(limit);
        EmbeddedCorpus.Split split = corpus.split(corpus.size() - HELD_OUT, HELD_OUT);
        EmbeddedCorpus docs = split.index();
        System.out.printf(
                Locale.ROOT,
                "%d messages to index, %d held out as queries for the recall measurement%n",
                docs.size(),
                HELD_OUT);

        section("2. Model: fitted on the node from " + TRAINING_VECTORS
                + " sample vectors, stored sealed under its master key");
        boolean modelCreated = ensureModel(node, docs.vectors());
        JsonNode model = node.get("/_plugins/encrypted_knn/models/" + MODEL_ID);
        System.out.println("GET _plugins/encrypted_knn/models/" + MODEL_ID + " (public metadata only):");
        System.out.println(indent(model.toPrettyString()));

        section("3. Pipelines and indices: " + ENCRYPTED_INDEX + " (default_pipeline " + INGEST_PIPELINE
                + ") and the plaintext baseline");
        ensurePipelines(node);
        ensureIndexed(node, model, docs, modelCreated);

        section("4. Natural-language queries through the search pipeline (plain vector in, exact scores out)");
        Embedder embedder = EmbeddedCorpus.embedder();
        for (String text : queries) {
            runQuery(node, embedder.embed(text), text);
        }

        section("5. Recall@10 on " + HELD_OUT + " held-out messages");
        measureRecall(node, split.queries().vectors(), docs.vectors());

        section("6. What the storage tier holds for one document (GET " + ENCRYPTED_INDEX + "/_doc/0, no pipeline)");
        System.out.println(
                abbreviate(node.get("/" + ENCRYPTED_INDEX + "/_doc/0").path("_source")));

        if (args.has("--data-dir")) {
            section(
                    "7. Scanning the node's files for raw float32 vectors (every 8-byte window, first 1,000 documents)");
            scanStorage(
                    node,
                    Path.of(args.get("--data-dir", "")),
                    Arrays.asList(docs.vectors()).subList(0, Math.min(1000, docs.size())));
        }
    }

    /** The encrypted index's files must hold no plaintext vector; the baseline's files show the scan finds them. */
    static void scanStorage(OpenSearchHttp node, Path dataDir, List<float[]> vectors) {
        PlaintextScan scan = new PlaintextScan(vectors);
        for (String index : List.of(ENCRYPTED_INDEX, PLAIN_INDEX)) {
            node.post("/" + index + "/_flush", null);
            try {
                PlaintextScan.Result r = scan.scan(indexDirectory(node, dataDir, index));
                System.out.printf(
                        Locale.ROOT,
                        "%-16s %3d files, %6.1f MB: %4d of %d plaintext vectors found%n",
                        index,
                        r.files(),
                        r.bytes() / 1e6,
                        r.vectorsFound(),
                        vectors.size());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot scan " + dataDir, e);
            }
        }
    }

    /** The directory of {@code index} under a node's data path (found by the index's uuid). */
    public static Path indexDirectory(OpenSearchHttp node, Path dataDir, String index) throws IOException {
        String uuid = node.get("/" + index + "/_settings")
                .path(index)
                .path("settings")
                .path("index")
                .path("uuid")
                .asText();
        try (Stream<Path> dirs = Files.walk(dataDir)) {
            return dirs.filter(d -> d.getFileName().toString().equals(uuid) && Files.isDirectory(d))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException(
                            "no directory for index " + index + " (" + uuid + ") under " + dataDir));
        }
    }

    /** Creates the model unless the node already has it; true when it was created. */
    public static boolean ensureModel(OpenSearchHttp node, float[][] vectors) {
        String path = "/_plugins/encrypted_knn/models/" + MODEL_ID;
        if (!modelExists(node, path)) {
            ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
            body.put("dimension", vectors[0].length);
            body.put("space", "cosine");
            body.put("prefix_dimension", vectors[0].length / 4);
            body.put("cells", CELLS);
            ArrayNode training = body.putArray("training_vectors");
            for (float[] v : Arrays.copyOf(vectors, Math.min(TRAINING_VECTORS, vectors.length))) {
                training.add(Indices.floats(v));
            }
            node.post(path, body);
            System.out.println("model created");
            return true;
        }
        System.out.println("model exists: reusing it");
        return false;
    }

    private static boolean modelExists(OpenSearchHttp node, String path) {
        try {
            node.get(path);
            return true;
        } catch (OpenSearchHttp.ResponseException e) {
            if (e.status() == 404) {
                return false;
            }
            throw e;
        }
    }

    public static void ensurePipelines(OpenSearchHttp node) {
        ObjectNode encrypt = OpenSearchHttp.JSON.createObjectNode();
        ObjectNode processor = encrypt.putArray("processors").addObject().putObject("encrypted_knn");
        processor.put("model_id", MODEL_ID);
        processor.put("field", FIELD);
        processor.putArray("encrypt_fields").add("subject");
        node.put("/_ingest/pipeline/" + INGEST_PIPELINE, encrypt);

        ObjectNode search = OpenSearchHttp.JSON.createObjectNode();
        search.putArray("request_processors")
                .addObject()
                .putObject("encrypted_knn_query")
                .put("model_id", MODEL_ID)
                .put("probe_cells", 8);
        search.putArray("response_processors")
                .addObject()
                .putObject("encrypted_knn_rerank")
                .put("model_id", MODEL_ID)
                .put("remove_vector", true)
                .putArray("decrypt_fields")
                .add("subject");
        node.put("/_search/pipeline/" + SEARCH_PIPELINE, search);
        System.out.println(
                "ingest pipeline " + INGEST_PIPELINE + " and search pipeline " + SEARCH_PIPELINE + " are in place");
    }

    static void ensureIndexed(OpenSearchHttp node, JsonNode model, EmbeddedCorpus docs, boolean newModel) {
        float[][] vectors = docs.vectors();
        List<CorpusMessage> messages = docs.messages();
        // Indices written under an earlier model would not match a newly fitted one: reuse only with the same model.
        if (!newModel
                && Indices.count(node, ENCRYPTED_INDEX) == docs.size()
                && Indices.count(node, PLAIN_INDEX) == docs.size()) {
            System.out.println("both indices already hold " + docs.size() + " documents: reusing them");
            return;
        }
        // the GET answer wraps the public metadata in "model"
        load(
                node,
                ENCRYPTED_INDEX,
                encryptedIndexBody(model.path("model")),
                "index through the encrypting pipeline",
                vectors,
                messages);

        ObjectNode plainBody = Indices.plainIndexBody(FIELD, vectors[0].length, "cosinesimil", Indices.Hnsw.DEFAULT);
        Indices.properties(plainBody)
                .putObject("subject")
                .put("type", "keyword")
                .put("index", false);
        load(node, PLAIN_INDEX, plainBody, "plaintext baseline", vectors, messages);
    }

    /**
     * An index of the model's vectors ({@code model}: its public metadata, as the models API answers it) with
     * {@link #INGEST_PIPELINE} as default pipeline and an encrypted subject.
     */
    public static ObjectNode encryptedIndexBody(JsonNode model) {
        ObjectNode body =
                Indices.encryptedIndexBody(FIELD, ModelCodec.readMetadata(model.toString()), Indices.Hnsw.DEFAULT);
        ((ObjectNode) body.get("settings")).put("index.default_pipeline", INGEST_PIPELINE);
        Indices.properties(body).putObject("subject").put("type", "keyword").put("index", false);
        return body;
    }

    /** The application's document, the same for both indices: a plain vector and the subject line. */
    public static ObjectNode document(float[] vector, CorpusMessage message) {
        ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
        doc.set(FIELD, Indices.floats(vector));
        doc.put("subject", message.subject());
        return doc;
    }

    private static void load(
            OpenSearchHttp node,
            String index,
            ObjectNode body,
            String label,
            float[][] vectors,
            List<CorpusMessage> messages) {
        Indices.recreate(node, index, body);
        Indices.LoadResult result;
        try (ProgressBar bar = new ProgressBar(label, vectors.length)) {
            int[] last = {0};
            result = Indices.bulkLoad(
                    node, index, vectors.length, i -> document(vectors[i], messages.get(i)), (done, total) -> {
                        bar.step(done - last[0]);
                        last[0] = done;
                    });
        }
        System.out.printf(
                Locale.ROOT,
                "%s: %d docs, %.0f docs/s, %.1f MB on disk%n",
                index,
                result.documents(),
                result.docsPerSecond(),
                result.storeBytes() / 1e6);
    }

    /** Through the search pipeline: the gateway encrypts the vector, the data node sees ciphertexts only. */
    public static JsonNode encryptedSearch(OpenSearchHttp node, String index, float[] vector, int size) {
        return encryptedSearch(node, index, vector, K, size);
    }

    /** {@link #encryptedSearch(OpenSearchHttp, String, float[], int)} with {@code k} stage-1 candidates. */
    public static JsonNode encryptedSearch(OpenSearchHttp node, String index, float[] vector, int k, int size) {
        return encryptedSearch(node, index, vector, k, size, SEARCH_PIPELINE);
    }

    /** {@link #encryptedSearch(OpenSearchHttp, String, float[], int, int)} through another search pipeline. */
    public static JsonNode encryptedSearch(
            OpenSearchHttp node, String index, float[] vector, int k, int size, String pipeline) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", size);
        ObjectNode params = body.putObject("query").putObject("encrypted_knn").putObject(FIELD);
        params.set("vector", Indices.floats(vector));
        params.put("k", k);
        return node.post("/" + index + "/_search?search_pipeline=" + pipeline, body)
                .path("hits")
                .path("hits");
    }

    static JsonNode plainSearch(OpenSearchHttp node, float[] vector, int size) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", size);
        ObjectNode knn = body.putObject("query").putObject("knn").putObject(FIELD);
        knn.set("vector", Indices.floats(vector));
        knn.put("k", K);
        body.putArray("_source").add("subject");
        return node.post("/" + PLAIN_INDEX + "/_search", body).path("hits").path("hits");
    }

    static void runQuery(OpenSearchHttp node, float[] vector, String text) {
        JsonNode encrypted = encryptedSearch(node, ENCRYPTED_INDEX, vector, 10);
        JsonNode plain = plainSearch(node, vector, 10);
        System.out.printf(Locale.ROOT, "%nquery: \"%s\"%n", text);
        System.out.printf(
                Locale.ROOT,
                "  %-52s %-8s | %-52s %-8s%n",
                "encrypted index (subject decrypted by the gateway)",
                "score",
                "plaintext baseline",
                "cosine");
        for (int i = 0; i < SHOW; i++) {
            // opensearch-knn's cosinesimil score is (1 + cos) / 2; print the cosine for comparison.
            System.out.printf(
                    Locale.ROOT,
                    "  %-52s %-8s | %-52s %-8s%n",
                    cut(subject(encrypted, i), 52),
                    score(encrypted, i, false),
                    cut(subject(plain, i), 52),
                    score(plain, i, true));
        }
        System.out.printf(
                Locale.ROOT,
                "  top-10 overlap with the plaintext baseline: %d/10%n",
                overlap(ids(encrypted), ids(plain)));
    }

    private static String subject(JsonNode hits, int i) {
        return i < hits.size() ? hits.get(i).path("_source").path("subject").asText() : "";
    }

    private static String score(JsonNode hits, int i, boolean knnCosine) {
        if (i >= hits.size()) {
            return "";
        }
        double s = hits.get(i).path("_score").asDouble();
        return String.format(Locale.ROOT, "%.4f", knnCosine ? 2 * s - 1 : s);
    }

    public static List<String> ids(JsonNode hits) {
        List<String> ids = new ArrayList<>();
        hits.forEach(h -> ids.add(h.path("_id").asText()));
        return ids;
    }

    static int overlap(List<String> a, List<String> b) {
        Set<String> top = new HashSet<>(b.subList(0, Math.min(10, b.size())));
        return (int) a.stream().limit(10).filter(top::contains).count();
    }

    static void measureRecall(OpenSearchHttp node, float[][] queries, float[][] docs) {
        double vsExact = 0;
        double vsBaseline = 0;
        double baselineVsExact = 0;
        try (ProgressBar bar = new ProgressBar("queries", queries.length)) {
            for (float[] q : queries) {
                List<String> exact = ExactSearch.topKIds(q, docs, 10, Space.COSINE);
                List<String> enc = ids(encryptedSearch(node, ENCRYPTED_INDEX, q, 10));
                List<String> base = ids(plainSearch(node, q, 10));
                vsExact += overlap(enc, exact) / 10.0;
                vsBaseline += overlap(enc, base) / 10.0;
                baselineVsExact += overlap(base, exact) / 10.0;
                bar.step(1);
            }
        }
        int n = queries.length;
        System.out.printf(Locale.ROOT, "encrypted (gateway) recall@10 vs exact brute force:  %.3f%n", vsExact / n);
        System.out.printf(Locale.ROOT, "encrypted (gateway) recall@10 vs the baseline:       %.3f%n", vsBaseline / n);
        System.out.printf(
                Locale.ROOT, "plaintext baseline recall@10 vs exact:               %.3f%n", baselineVsExact / n);
    }

    /** The stored document with long ciphertexts shortened for display. */
    static String abbreviate(JsonNode source) {
        ObjectNode copy = source.deepCopy();
        ObjectNode record = (ObjectNode) copy.path(FIELD);
        JsonNode p = record.path(RecordFormat.PREFIX);
        List<String> head = new ArrayList<>();
        for (int i = 0; i < Math.min(4, p.size()); i++) {
            head.add(p.get(i).asText());
        }
        record.put(RecordFormat.PREFIX, "[" + String.join(", ", head) + ", … " + p.size() + " floats]");
        for (String key : List.of(RecordFormat.SEALED, RecordFormat.KEYED_RESIDUAL)) { // a sealed record's s, or z
            if (record.has(key)) {
                String text = record.path(key).asText();
                record.put(
                        key, text.substring(0, Math.min(40, text.length())) + "… (" + text.length() + " base64 chars)");
            }
        }
        return copy.toPrettyString();
    }

    private static String indent(String text) {
        return "  " + text.replace("\n", "\n  ");
    }

    private static void section(String title) {
        System.out.println();
        System.out.println("== " + title);
    }

    private static String cut(String s, int width) {
        String oneLine = s.replaceAll("\\s+", " ").trim();
        return oneLine.length() <= width ? oneLine : oneLine.substring(0, width - 1) + "…";
    }
}
