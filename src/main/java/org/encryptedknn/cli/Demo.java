package org.encryptedknn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.KeyFiles;
import org.encryptedknn.client.ModelFiles;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.corpus.CorpusMessage;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.corpus.Embedder;
import org.encryptedknn.corpus.ProgressBar;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.shard.ModelFitter;
import org.encryptedknn.shard.ModelParameters;
import org.encryptedknn.shard.ShardModel;
import org.encryptedknn.shard.ShardTransform;
import org.encryptedknn.shard.Space;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The end-to-end demo in client mode: the key and the model stay in this process (and a state
 * directory), the node only ever receives ciphertexts. Indexes the SpamAssassin corpus encrypted and,
 * as the baseline, in a plaintext opensearch-knn index; runs natural-language queries and prints both
 * answers, the recall, and what the storage tier holds for one document.
 *
 * <pre>java … org.encryptedknn.cli.Demo --url http://127.0.0.1:9200 --state DIR [--limit N] [query text]...</pre>
 */
public final class Demo {

    static final String ENCRYPTED_INDEX = "demo-mail";
    static final String PLAIN_INDEX = "demo-mail-plain";
    static final String FIELD = "embedding";
    static final String MODEL_ID = "demo-minilm";
    static final int HELD_OUT = 200;
    static final int K = 100;
    static final int PROBE_CELLS = 8;
    static final int SHOW = 5;
    static final List<String> DEFAULT_QUERIES = List.of(
        "cheap prescription drugs without a doctor",
        "refinance your mortgage at a lower rate",
        "kernel panic after upgrading the linux kernel",
        "perl regular expression to match an email address",
        "spam filter is marking legitimate mail as spam");

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        Path state = Path.of(args.option("--state", System.getProperty("java.io.tmpdir") + "/encrypted-knn-demo"));
        Files.createDirectories(state);
        int limit = Integer.parseInt(args.option("--limit", "0"));
        List<String> queries = args.positional().isEmpty() ? DEFAULT_QUERIES : args.positional();
        OpenSearchHttp node = new OpenSearchHttp(args.option("--url", "http://127.0.0.1:9200"));

        section("1. Corpus: SpamAssassin public mail corpus, embedded in-process with MiniLM (384-d)");
        EmbeddedCorpus corpus = EmbeddedCorpus.load(limit);
        EmbeddedCorpus.Split split = corpus.split(corpus.size() - HELD_OUT, HELD_OUT);
        EmbeddedCorpus docs = split.index();
        System.out.printf(Locale.ROOT, "%d messages to index, %d held out as queries for the recall measurement%n", docs.size(), HELD_OUT);

        try (MasterKey master = loadOrCreateKey(state.resolve("master.key")); KeyDerivation keys = new KeyDerivation(master)) {
            section("2. Model (fitted and kept by the key holder; stored sealed under the master key)");
            ShardModel model = loadOrFitModel(state.resolve("model.json"), state.resolve("master.key"), keys, docs.vectors());
            ModelParameters params = model.parameters();
            System.out.printf(Locale.ROOT, "model %s: d=%d, prefix d_pub=%d, cells=%d, beta=%.2f (x scale %.3f), epoch %d%n",
                model.id(), params.dimension(), params.prefixDimension(), params.cells(), params.beta(), model.betaScale(),
                model.epoch());

            try (ShardTransform transform = new ShardTransform(model, keys); FieldCipher subjects = new FieldCipher(keys, "subject")) {
                transform.warmUp();
                section("3. Indexing: encrypted index and plaintext opensearch-knn baseline");
                ensureIndexed(node, transform, subjects, docs);

                section("4. Natural-language queries (encrypted in this process, exact ranking by the key holder)");
                Embedder embedder = EmbeddedCorpus.embedder();
                for (String text : queries) {
                    runQuery(node, transform, subjects, embedder.embed(text), text, docs);
                }

                section("5. Recall@10 on " + HELD_OUT + " held-out messages");
                measureRecall(node, transform, split.queries().vectors(), docs.vectors());

                section("6. What the storage tier holds for one document (GET " + ENCRYPTED_INDEX + "/_doc/0)");
                System.out.println(abbreviate(node.get("/" + ENCRYPTED_INDEX + "/_doc/0").path("_source")));
            }
        }
    }

    static MasterKey loadOrCreateKey(Path file) {
        if (Files.exists(file)) {
            return KeyFiles.read(file);
        }
        MasterKey key = KeyFiles.create(file, false);
        System.out.println("generated a new master key in " + file + " (owner-only permissions; never printed)");
        return key;
    }

    static ShardModel loadOrFitModel(Path file, Path keyFile, KeyDerivation keys, float[][] vectors) {
        if (Files.exists(file)) {
            System.out.println("reusing the sealed model in " + file);
            return ModelFiles.read(file, keys, keyFile);
        }
        int d = vectors[0].length;
        ModelParameters params = new ModelParameters(d, Space.COSINE, d / 4, 64, ModelParameters.DEFAULT_BETA, 1);
        ShardModel model = ModelFitter.fit(MODEL_ID, params, Arrays.copyOf(vectors, Math.min(2000, vectors.length)));
        ModelFiles.write(file, model, keys);
        System.out.println("fitted on " + Math.min(2000, vectors.length) + " vectors; sealed model written to " + file);
        return model;
    }

    static void ensureIndexed(OpenSearchHttp node, ShardTransform transform, FieldCipher subjects, EmbeddedCorpus docs) {
        float[][] vectors = docs.vectors();
        List<CorpusMessage> messages = docs.messages();
        if (Indices.count(node, ENCRYPTED_INDEX) == docs.size() && Indices.count(node, PLAIN_INDEX) == docs.size()) {
            System.out.println("both indices already hold " + docs.size() + " documents: reusing them");
            return;
        }
        ShardModel model = transform.model();
        ObjectNode encryptedBody = Indices.encryptedIndexBody(FIELD, model.id(), model.parameters(), Indices.Hnsw.DEFAULT);
        Indices.properties(encryptedBody).putObject("subject").put("type", "keyword").put("index", false);
        Indices.recreate(node, ENCRYPTED_INDEX, encryptedBody);
        Indices.LoadResult enc;
        try (ProgressBar bar = new ProgressBar("encrypt + index", docs.size())) {
            enc = Indices.bulkLoad(node, ENCRYPTED_INDEX, docs.size(), i -> {
                ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
                String id = Integer.toString(i);
                doc.set(FIELD, EncryptedSearch.recordJson(transform.encryptDocument(vectors[i], id, FIELD)));
                doc.put("subject", subjects.encrypt(messages.get(i).subject(), aadContext(id)));
                return doc;
            }, progress(bar));
        }
        ObjectNode plainBody = Indices.plainIndexBody(FIELD, vectors[0].length, "cosinesimil", Indices.Hnsw.DEFAULT);
        Indices.properties(plainBody).putObject("subject").put("type", "keyword").put("index", false);
        Indices.recreate(node, PLAIN_INDEX, plainBody);
        Indices.LoadResult plain;
        try (ProgressBar bar = new ProgressBar("plaintext baseline", docs.size())) {
            plain = Indices.bulkLoad(node, PLAIN_INDEX, docs.size(), i -> {
                ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
                doc.set(FIELD, Indices.floats(vectors[i]));
                doc.put("subject", messages.get(i).subject());
                return doc;
            }, progress(bar));
        }
        System.out.printf(Locale.ROOT, "encrypted: %.0f docs/s, %.1f MB   plaintext: %.0f docs/s, %.1f MB%n",
            enc.docsPerSecond(), enc.storeBytes() / 1e6, plain.docsPerSecond(), plain.storeBytes() / 1e6);
    }

    private static Indices.ProgressListener progress(ProgressBar bar) {
        int[] last = {0};
        return (done, total) -> {
            bar.step(done - last[0]);
            last[0] = done;
        };
    }

    /** Associated data binding an encrypted subject to its index and document. */
    static String aadContext(String id) {
        return ENCRYPTED_INDEX + "/" + id;
    }

    static List<EncryptedSearch.ExactHit> encryptedSearch(OpenSearchHttp node, ShardTransform transform, float[] vector) {
        EncryptedSearch search = new EncryptedSearch(transform, FIELD, vector);
        search.withCells(transform.probeCells(search.query(), PROBE_CELLS));
        return search.exactRanking(node.post("/" + ENCRYPTED_INDEX + "/_search", search.keyedBody(K, K, K)));
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

    static void runQuery(OpenSearchHttp node, ShardTransform transform, FieldCipher subjects, float[] vector, String text,
                         EmbeddedCorpus docs) {
        List<EncryptedSearch.ExactHit> encrypted = encryptedSearch(node, transform, vector);
        JsonNode plain = plainSearch(node, vector, 10);
        System.out.printf(Locale.ROOT, "%nquery: \"%s\"%n", text);
        System.out.printf(Locale.ROOT, "  %-52s %-8s | %-52s %-8s%n", "encrypted index (decrypted subject)", "score", "plaintext baseline", "score");
        for (int i = 0; i < SHOW; i++) {
            String left = "";
            String leftScore = "";
            if (i < encrypted.size()) {
                EncryptedSearch.ExactHit hit = encrypted.get(i);
                left = subjects.decrypt(hit.source().path("subject").asText(), aadContext(hit.id()));
                leftScore = String.format(Locale.ROOT, "%.4f", hit.score());
            }
            String right = "";
            String rightScore = "";
            if (i < plain.size()) {
                right = plain.get(i).path("_source").path("subject").asText();
                rightScore = String.format(Locale.ROOT, "%.4f", 2 * plain.get(i).path("_score").asDouble() - 1);
            }
            System.out.printf(Locale.ROOT, "  %-52s %-8s | %-52s %-8s%n", cut(left, 52), leftScore, cut(right, 52), rightScore);
        }
        Set<String> plainTop = new HashSet<>();
        plain.forEach(h -> plainTop.add(h.path("_id").asText()));
        long same = encrypted.stream().limit(10).filter(h -> plainTop.contains(h.id())).count();
        System.out.printf(Locale.ROOT, "  top-10 overlap with the plaintext baseline: %d/10%n", same);
    }

    static void measureRecall(OpenSearchHttp node, ShardTransform transform, float[][] queries, float[][] docs) {
        double vsExact = 0;
        double vsBaseline = 0;
        double baselineVsExact = 0;
        try (ProgressBar bar = new ProgressBar("queries", queries.length)) {
            for (float[] q : queries) {
                Set<String> exact = exactTop10(q, docs);
                List<String> enc = encryptedSearch(node, transform, q).stream().limit(10).map(EncryptedSearch.ExactHit::id).toList();
                Set<String> base = new HashSet<>();
                plainSearch(node, q, 10).forEach(h -> base.add(h.path("_id").asText()));
                vsExact += enc.stream().filter(exact::contains).count() / 10.0;
                vsBaseline += enc.stream().filter(base::contains).count() / 10.0;
                baselineVsExact += base.stream().filter(exact::contains).count() / 10.0;
                bar.step(1);
            }
        }
        int n = queries.length;
        System.out.printf(Locale.ROOT, "encrypted recall@10 vs exact brute force:        %.3f%n", vsExact / n);
        System.out.printf(Locale.ROOT, "encrypted recall@10 vs the plaintext baseline:   %.3f%n", vsBaseline / n);
        System.out.printf(Locale.ROOT, "plaintext baseline recall@10 vs exact:           %.3f%n", baselineVsExact / n);
    }

    static Set<String> exactTop10(float[] q, float[][] docs) {
        Integer[] order = new Integer[docs.length];
        double[] scores = new double[docs.length];
        for (int i = 0; i < docs.length; i++) {
            scores[i] = ShardTransform.similarity(q, docs[i], Space.COSINE);
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));
        Set<String> top = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            top.add(Integer.toString(order[i]));
        }
        return top;
    }

    /** The stored document with long ciphertexts shortened for display. */
    static String abbreviate(JsonNode source) {
        ObjectNode copy = source.deepCopy();
        ObjectNode record = (ObjectNode) copy.path(FIELD);
        JsonNode p = record.path("p");
        List<String> head = new ArrayList<>();
        for (int i = 0; i < Math.min(4, p.size()); i++) {
            head.add(p.get(i).asText());
        }
        record.put("p", "[" + String.join(", ", head) + ", … " + p.size() + " floats]");
        String z = record.path("z").asText();
        record.put("z", z.substring(0, Math.min(40, z.length())) + "… (" + z.length() + " base64 chars)");
        return copy.toPrettyString();
    }

    private static void section(String title) {
        System.out.println();
        System.out.println("== " + title);
    }

    private static String cut(String s, int width) {
        String oneLine = s.replaceAll("\\s+", " ").trim();
        return oneLine.length() <= width ? oneLine : oneLine.substring(0, width - 1) + "…";
    }

    /** {@code --name value} options and positional arguments. */
    static final class Args {
        private final List<String> positional = new ArrayList<>();
        private final java.util.Map<String, String> options = new java.util.HashMap<>();

        Args(String[] argv) {
            for (int i = 0; i < argv.length; i++) {
                if (argv[i].startsWith("--") && i + 1 < argv.length) {
                    options.put(argv[i], argv[++i]);
                } else {
                    positional.add(argv[i]);
                }
            }
        }

        String option(String name, String fallback) {
            return options.getOrDefault(name, fallback);
        }

        List<String> positional() {
            return positional;
        }
    }
}
