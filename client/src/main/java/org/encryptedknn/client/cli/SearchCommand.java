package org.encryptedknn.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.encryptedknn.client.CkksSearch;
import org.encryptedknn.client.DocumentCipher;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.corpus.Embedder;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.he.HeException;
import org.encryptedknn.transform.SearchMode;

/**
 * {@code encrypted-knn search}: one encrypted query against an index, exact ranking by this key holder.
 * {@code key_holder} (default) and {@code keyed_leaks_query_residuals}: one round trip ({@link EncryptedSearch}).
 * {@code ckks}: the scores come back CKKS-encrypted ({@link CkksSearch}); hits of unprobed cells that could still
 * reach the top k are asked for in a second round.
 */
final class SearchCommand implements Main.Command {

    /** One result line, whichever the mode. */
    record Result(String id, String index, double score, int cell, boolean exact, JsonNode source) {}

    @Override
    public String summary() {
        return "encrypted k-NN query (text or vector); exact scores and decrypted fields";
    }

    @Override
    public String usage() {
        return """
            usage: encrypted-knn search --key FILE --model FILE --index NAME (--text TEXT | --vector JSON | --vector-file FILE) [options]

            Encrypts the query here, sends it to the node, and ranks the answer by exact plaintext similarity (the
            prefix term from SAP-decrypting each hit's p, the residual term from its keyed residual z).

              --key FILE                 master key file
              --model FILE               sealed model file
              --url URL                  the cluster (default http://127.0.0.1:9200)
              --index NAME               index (or alias, or comma-separated indices) to search
              --text TEXT                embed TEXT with all-minilm-l6-v2 (384-d models only)
              --vector JSON              the query vector as a JSON array
              --vector-file FILE         the first line of a JSON Lines file (array, or object with --field)
              --field NAME               vector field (default embedding)
              --k K                      results to print (default 10)
              --candidates N             stage-1 HNSW candidates, all rescored (default: the model's calibrated
                                         window for the index's document count; 100 for a model fitted before
                                         calibration)
              --mode MODE                key_holder (default): the node gets the encrypted prefix query only and
                                         returns the candidates' records; this key holder scores them exactly.
                                         ckks: the probed cells' residual queries travel CKKS-encrypted (needs the
                                         native SEAL library); the node learns neither them nor the scores.
                                         keyed_leaks_query_residuals: the residual queries travel in clear; the
                                         node sees them (enough to link cells over many queries) and the scores
              --probe P                  ckks and keyed_leaks_query_residuals: cells whose residual queries are
                                         sent (default 8)
              --decrypt-fields A,B       fields to decrypt and print (randomized or deterministic)
              --term FIELD=VALUE         only documents whose deterministic FIELD equals VALUE
              --json                     one JSON object per hit instead of the table
              --log-requests FILE        append every request sent to the node to FILE, one JSON object per line
                                         {"method","path","body"}: exactly what the cluster receives""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Options o = new Options(
                "search",
                args,
                Set.of(
                        "--key",
                        "--model",
                        "--url",
                        "--index",
                        "--text",
                        "--vector",
                        "--vector-file",
                        "--field",
                        "--k",
                        "--candidates",
                        "--probe",
                        "--mode",
                        "--decrypt-fields",
                        "--term",
                        "--log-requests"),
                Set.of("--json"));
        o.noPositional();
        String index = o.required("--index");
        String field = o.get("--field", "embedding");
        int k = o.integer("--k", 10, 1, 10_000);
        Integer candidatesOption = o.optionalInteger("--candidates", 1, 10_000);
        if (candidatesOption != null && candidatesOption < k) {
            throw CliException.usage("--candidates (" + candidatesOption + ") must be at least --k (" + k + ")");
        }
        int probe = o.integer("--probe", 8, 1, 65_536);
        SearchMode mode;
        try {
            mode = SearchMode.fromString(o.get("--mode", SearchMode.KEY_HOLDER.wireName()));
        } catch (IllegalArgumentException e) {
            throw CliException.usage("option --mode " + e.getMessage());
        }
        int sources = (o.has("--text") ? 1 : 0) + (o.has("--vector") ? 1 : 0) + (o.has("--vector-file") ? 1 : 0);
        if (sources != 1) {
            throw CliException.usage("give exactly one of --text, --vector, --vector-file");
        }
        List<String> decrypt = o.list("--decrypt-fields");
        String[] term = null;
        if (o.has("--term")) {
            String t = o.get("--term", "");
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw CliException.usage("option --term must be FIELD=VALUE, got '" + t + "'");
            }
            term = new String[] {t.substring(0, eq), t.substring(eq + 1)};
        }

        try (KeyMaterial km = KeyMaterial.open(o, err)) {
            float[] query = queryVector(o, field, km.dimension());
            OpenSearchHttp node = new OpenSearchHttp(o.get("--url", "http://127.0.0.1:9200"));
            if (o.has("--log-requests")) {
                node.observe(requestFile(Path.of(o.get("--log-requests", ""))));
            }
            String path = "/" + index + "/_search";
            EncryptedSearch search = new EncryptedSearch(km.transform, field, query);
            // the model's calibrated window for the index's size, unless given
            int candidates = candidatesOption != null
                    ? candidatesOption
                    : Math.max(
                            k,
                            search.defaultWindow(node.get("/" + index + "/_count")
                                    .path("count")
                                    .asLong()));
            List<Result> results = new ArrayList<>();
            if (mode == SearchMode.CKKS) {
                search.withCells(km.transform.probeCells(search.query(), probe));
                results = ckks(node, path, search, km, candidates, k, term, field, err);
            } else {
                ObjectNode body;
                if (mode == SearchMode.KEYED_LEAKS_QUERY_RESIDUALS) {
                    search.withCells(km.transform.probeCells(search.query(), probe));
                    body = search.keyedBody(candidates, candidates, candidates);
                } else {
                    body = search.keyHolderBody(candidates);
                }
                addTerm(body, field, term, km);
                JsonNode response = node.post(path, body);
                Map<String, String> indexOf = hitIndices(response, new java.util.HashMap<>());
                for (EncryptedSearch.ExactHit h : search.exactRanking(response)) {
                    results.add(new Result(h.id(), indexOf.get(h.id()), h.score(), h.cell(), true, h.source()));
                }
            }
            print(results.subList(0, Math.min(k, results.size())), decrypt, km, index, o.flag("--json"), out);
        }
        return 0;
    }

    private static List<Result> ckks(
            OpenSearchHttp node,
            String path,
            EncryptedSearch search,
            KeyMaterial km,
            int candidates,
            int k,
            String[] term,
            String field,
            PrintStream err) {
        CkksParameters params = CkksParameters.forResidualLength(km.model.residualLength());
        // A fresh CKKS secret key per run: nothing is stored under it, so it need not outlive the query.
        try (CkksContext ctx = openContext(params);
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
            CkksSearch ckks = new CkksSearch(search, kh);
            ObjectNode body = ckks.body(candidates, candidates, candidates);
            addTerm(body, field, term, km);
            JsonNode response = node.postCbor(path, body); // ciphertexts as raw bytes, not base64
            Map<String, String> indexOf = hitIndices(response, new java.util.HashMap<>());
            List<CkksSearch.Hit> ranking = ckks.ranking(response);
            ObjectNode followUp = ckks.followUpBody(ranking, k);
            if (followUp != null) {
                err.println("second round: " + ckks.followUpCells() + " more cells for hits outside the probed ones");
                JsonNode second = node.postCbor(path, followUp);
                hitIndices(second, indexOf);
                ranking = ckks.merge(ranking, second);
            }
            List<Result> out = new ArrayList<>();
            for (CkksSearch.Hit h : ranking) {
                out.add(new Result(h.id(), indexOf.get(h.id()), h.score(), h.cell(), h.exact(), h.source()));
            }
            return out;
        }
    }

    /** Appends each request as {"method":…,"path":…,"body":…} to {@code file}. */
    private static org.encryptedknn.client.RequestObserver requestFile(Path file) {
        return (method, path, body) -> {
            ObjectNode line = OpenSearchHttp.JSON.createObjectNode();
            line.put("method", method);
            line.put("path", path);
            line.put("body", body);
            try {
                java.nio.file.Files.writeString(
                        file,
                        line + "\n",
                        java.nio.charset.StandardCharsets.UTF_8,
                        java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(
                        "cannot write --log-requests file " + file + ": " + e.getMessage(), e);
            }
        };
    }

    private static Map<String, String> hitIndices(JsonNode response, Map<String, String> into) {
        for (JsonNode hit : response.path("hits").path("hits")) {
            into.put(hit.path("_id").asText(), hit.path("_index").asText());
        }
        return into;
    }

    private static CkksContext openContext(CkksParameters params) {
        try {
            return CkksContext.create(params);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new CliException(
                    "--mode ckks needs the native SEAL library (libencrypted_knn_seal.so under target/classes/linux-x86-64;"
                            + " build it with scripts/build.sh): " + e.getMessage());
        } catch (HeException e) {
            throw new CliException("--mode ckks: " + e.getMessage());
        }
    }

    /** Adds a pre-filter {@code term} on a deterministic field's ciphertext to the stage-1 query. */
    private static void addTerm(ObjectNode body, String field, String[] term, KeyMaterial km) {
        if (term == null) {
            return;
        }
        try (FieldCipher c = new FieldCipher(km.keys, term[0])) {
            ObjectNode knn =
                    (ObjectNode) body.path("query").path("encrypted_knn").path(field);
            knn.putObject("filter").putObject("term").put(term[0], c.encryptDeterministic(term[1]));
        }
    }

    private static float[] queryVector(Options o, String field, int dimension) {
        if (o.has("--text")) {
            if (dimension != Embedder.DIMENSION) {
                throw new CliException("--text embeds with " + Embedder.MODEL_NAME + " (" + Embedder.DIMENSION
                        + "-d) but the model has" + " dimension " + dimension
                        + "; give the query vector with --vector or --vector-file");
            }
            return Embedder.shared().embed(o.get("--text", ""));
        }
        if (o.has("--vector")) {
            JsonNode v;
            try {
                v = Jsonl.READER.readTree(o.get("--vector", ""));
            } catch (Exception e) {
                throw CliException.usage("option --vector is not JSON: "
                        + Jsonl.oneLine(e.getMessage().split("\n")[0]));
            }
            if (!v.isArray()) {
                throw CliException.usage("option --vector must be a JSON array of numbers");
            }
            return Jsonl.floats(v, "--vector", dimension, new Jsonl.Where("--vector", 1));
        }
        Path file = Path.of(o.get("--vector-file", ""));
        float[][] found = {null};
        Jsonl.read(file, "vector file", (value, where) -> {
            found[0] = Jsonl.vector(value, field, dimension, where);
            return false;
        });
        if (found[0] == null) {
            throw new CliException("vector file " + file + " holds no vector");
        }
        return found[0];
    }

    private static void print(
            List<Result> results, List<String> decrypt, KeyMaterial km, String index, boolean json, PrintStream out) {
        if (results.isEmpty()) {
            if (!json) {
                out.println("no hits");
            }
            return;
        }
        int rank = 0;
        for (Result r : results) {
            rank++;
            String hitIndex = r.index() != null ? r.index() : index;
            Map<String, String> fields = new java.util.LinkedHashMap<>();
            for (String f : decrypt) {
                try {
                    fields.putAll(DocumentCipher.decryptFields(km.keys, r.source(), hitIndex, r.id(), List.of(f)));
                } catch (IllegalArgumentException e) {
                    fields.put(f, "(cannot decrypt: " + e.getMessage() + ")");
                }
            }
            if (json) {
                ObjectNode line = OpenSearchHttp.JSON.createObjectNode();
                line.put("rank", rank);
                line.put("id", r.id());
                line.put("score", r.score());
                line.put("exact", r.exact());
                line.put("cell", r.cell());
                ObjectNode f = line.putObject("fields");
                fields.forEach(f::put);
                out.println(line);
            } else {
                StringBuilder b = new StringBuilder(String.format(
                        Locale.ROOT, "%3d  %.6f%s  %-20s", rank, r.score(), r.exact() ? " " : "*", r.id()));
                fields.forEach((name, value) ->
                        b.append("  ").append(name).append(": ").append(cut(value, 100)));
                out.println(b);
            }
        }
        if (!json && results.stream().anyMatch(r -> !r.exact())) {
            out.println("* prefix term only: the hit's cell was not probed (raise --probe)");
        }
    }

    private static String cut(String s, int width) {
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() <= width ? t : t.substring(0, width - 1) + "…";
    }
}
