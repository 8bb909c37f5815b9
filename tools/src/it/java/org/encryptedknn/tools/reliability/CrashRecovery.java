package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.tools.demo.Demo;
import org.encryptedknn.transform.RecordFormat;

/**
 * Crash recovery of a gateway-mode node (driven by {@code scripts/reliability.sh crash}, which kills the node's JVM
 * with SIGKILL in the middle of {@code ingest} and restarts it on the same data directory before {@code verify}).
 *
 * <ul>
 *   <li>{@code ingest}: bulk-indexes the corpus through the encrypting default pipeline in small bulks and appends the
 *       id of every acknowledged document to {@code --acked} (flushed after each bulk) until the node stops answering.
 *       Exit 0 when the node died mid-ingest, 3 when the ingest finished first (nothing was tested), 1 on a refused
 *       document.</li>
 *   <li>{@code verify}: every acknowledged id is present; every stored document (acknowledged or not) is a complete
 *       encrypted record ({p,n,s,e}, or {p,n,c,z,e} keyed) with an {@code ekr2:} subject and no plaintext vector; every acknowledged document
 *       is found by a search-pipeline query with its own vector and comes back with its subject decrypted intact; the
 *       held-out queries' scores equal the plaintext cosine within 1e-4. Exit 1 if a check fails.</li>
 * </ul>
 *
 * <pre>java … org.encryptedknn.tools.reliability.CrashRecovery ingest|verify --url http://127.0.0.1:9410 --acked FILE
 *     [--docs 5996] [--queries 50] [--bulk 20] [--translog-durability request|async] [--restart-seconds S]</pre>
 */
public final class CrashRecovery {

    static final String INDEX = "rel-crash";

    private CrashRecovery() {}

    public static void main(String[] argv) throws IOException {
        Options a = Options.lenient("CrashRecovery", argv);
        GatewayScenario s = GatewayScenario.fromArgs(a, 9410, 5996, 50);
        Path acked = Path.of(a.get("--acked", "acked.txt"));
        int code = switch (argv.length > 0 ? argv[0] : "") {
            case "ingest" -> ingest(s, acked, a.integer("--bulk", 20), a.get("--translog-durability", "request"));
            case "verify" -> verify(s, acked, a.number("--restart-seconds", Double.NaN)) ? 0 : 1;
            default ->
                throw new IllegalArgumentException("usage: CrashRecovery ingest|verify --url URL --acked FILE …");
        };
        System.exit(code);
    }

    private static int ingest(GatewayScenario s, Path ackedFile, int bulkSize, String durability) throws IOException {
        s.createIndex(INDEX, "1s");
        // "async" (fsync every 5 s, after the acknowledgement) is the negative control: acknowledged documents can be
        // lost.
        s.node.put("/" + INDEX + "/_settings", "{\"index.translog.durability\":\"" + durability + "\"}");
        int acked = 0;
        int bulks = 0;
        long t0 = System.nanoTime();
        try (BufferedWriter out = Files.newBufferedWriter(
                ackedFile,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            for (int from = 0; from < s.docs.size(); from += bulkSize) {
                int to = Math.min(s.docs.size(), from + bulkSize);
                StringBuilder ndjson = new StringBuilder();
                for (int i = from; i < to; i++) {
                    ndjson.append("{\"index\":{\"_index\":\"")
                            .append(INDEX)
                            .append("\",\"_id\":\"")
                            .append(i)
                            .append("\"}}\n");
                    ndjson.append(s.document(i)).append('\n');
                }
                JsonNode response;
                try {
                    response = s.node.postNdjson("/_bulk", ndjson.toString());
                } catch (UncheckedIOException e) {
                    System.out.printf(
                            Locale.ROOT,
                            "node stopped answering during bulk %d (documents %d..%d): %s%n",
                            bulks + 1,
                            from,
                            to - 1,
                            e.getMessage());
                    System.out.printf(
                            Locale.ROOT,
                            "ingest: %d bulks acknowledged, %d documents acknowledged in %.1f s%n",
                            bulks,
                            acked,
                            (System.nanoTime() - t0) / 1e9);
                    return 0;
                }
                for (JsonNode item : response.path("items")) {
                    JsonNode r = item.path("index");
                    int status = r.path("status").asInt();
                    if (status / 100 != 2) {
                        System.out.println("document " + r.path("_id").asText() + " refused: " + r.path("error"));
                        return 1;
                    }
                    out.write(r.path("_id").asText());
                    out.newLine();
                    acked++;
                }
                out.flush(); // the driver counts these lines to decide when to kill
                bulks++;
            }
        }
        System.out.printf(
                Locale.ROOT, "ingest finished (%d documents) before the node was killed: nothing was tested%n", acked);
        return 3;
    }

    private static boolean verify(GatewayScenario s, Path ackedFile, double restartSeconds) throws IOException {
        Set<String> acked = new LinkedHashSet<>(Files.readAllLines(ackedFile, StandardCharsets.UTF_8));
        double greenSeconds = s.waitGreen(INDEX, 300);
        JsonNode recovery = s.node.get("/" + INDEX + "/_recovery")
                .path(INDEX)
                .path("shards")
                .path(0);
        s.node.post("/" + INDEX + "/_refresh", null);
        System.out.printf(
                Locale.ROOT,
                "recovery: node start (JVM boot to cluster yellow) %.1f s, then index green after %.1f s; "
                        + "shard recovery %s from %s, %d translog operations replayed in %d ms%n",
                restartSeconds,
                greenSeconds,
                recovery.path("stage").asText(),
                recovery.path("type").asText(),
                recovery.path("translog").path("recovered").asLong(),
                recovery.path("translog").path("total_time_in_millis").asLong());

        // 1. every acknowledged id present
        int found = 0;
        List<String> ids = new ArrayList<>(acked);
        for (int from = 0; from < ids.size(); from += 500) {
            ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
            ArrayNode batch = body.putArray("ids");
            ids.subList(from, Math.min(ids.size(), from + 500)).forEach(batch::add);
            for (JsonNode d :
                    s.node.post("/" + INDEX + "/_mget?_source=false", body).path("docs")) {
                found += d.path("found").asBoolean() ? 1 : 0;
            }
        }
        int lost = acked.size() - found;
        long stored = s.node.get("/" + INDEX + "/_count").path("count").asLong();
        boolean presentOk = lost == 0;
        System.out.printf(
                Locale.ROOT,
                "acknowledged %d, found %d, lost %d; stored %d (%d written but not acknowledged): %s%n",
                acked.size(),
                found,
                lost,
                stored,
                stored - found,
                GatewayScenario.verdict(presentOk));

        // 2. what the storage tier holds: complete records only, no plaintext
        JsonNode model = s.model();
        int dPub = model.path("prefix_dimension").asInt();
        int residualDim = model.path("dimension").asInt() - dPub;
        int prefixDim = GatewayScenario.prefixWidth(model);
        int cells = model.path("cells").asInt();
        int scanned = 0;
        List<String> partial = new ArrayList<>();
        JsonNode page = s.node.post("/" + INDEX + "/_search?scroll=1m", "{\"size\":500,\"sort\":[\"_doc\"]}");
        while (page.path("hits").path("hits").size() > 0) {
            for (JsonNode hit : page.path("hits").path("hits")) {
                scanned++;
                String problem = incomplete(hit.path("_source"), dPub + residualDim, prefixDim, residualDim, cells);
                if (problem != null) {
                    partial.add(hit.path("_id").asText() + ": " + problem);
                }
            }
            page = s.node.post(
                    "/_search/scroll",
                    "{\"scroll\":\"1m\",\"scroll_id\":\""
                            + page.path("_scroll_id").asText() + "\"}");
        }
        s.node.delete("/_search/scroll/" + page.path("_scroll_id").asText());
        boolean completeOk = partial.isEmpty() && scanned == stored;
        System.out.printf(
                Locale.ROOT,
                "stored documents scanned %d: partially encrypted or plaintext %d%s: %s%n",
                scanned,
                partial.size(),
                partial.isEmpty() ? "" : " (first: " + partial.get(0) + ")",
                GatewayScenario.verdict(completeOk));

        // 3. every acknowledged document searchable by its own vector, subject decrypted intact
        int notFound = 0;
        int badSubject = 0;
        long t0 = System.nanoTime();
        for (String id : ids) {
            int i = Integer.parseInt(id);
            JsonNode hits = Demo.encryptedSearch(s.node, INDEX, s.docs.vectors()[i], 10);
            JsonNode self = null;
            for (JsonNode h : hits) {
                if (h.path("_id").asText().equals(id)) {
                    self = h;
                }
            }
            if (self == null) {
                notFound++;
                if (notFound <= 3) {
                    System.out.println("  not found by its own vector: " + id);
                }
            } else if (!self.path("_source")
                    .path("subject")
                    .asText()
                    .equals(s.docs.messages().get(i).subject())) {
                badSubject++;
            }
        }
        boolean searchableOk = notFound == 0 && badSubject == 0;
        System.out.printf(
                Locale.ROOT,
                "self-queries through the search pipeline: %d, not in their own top 10: %d, subject not decrypted "
                        + "to the original: %d (%.1f s): %s%n",
                ids.size(),
                notFound,
                badSubject,
                (System.nanoTime() - t0) / 1e9,
                GatewayScenario.verdict(searchableOk));

        // 4. exact scores
        double worst = 0;
        int hitsChecked = 0;
        for (float[] q : s.queries.vectors()) {
            List<GatewayScenario.Hit> hits = s.search(INDEX, q, 10);
            hitsChecked += hits.size();
            worst = Math.max(worst, s.maxScoreError(hits, q));
        }
        boolean scoresOk = worst <= GatewayScenario.SCORE_TOLERANCE && hitsChecked > 0;
        System.out.printf(
                Locale.ROOT,
                "held-out queries %d, hits %d: max |score - plaintext cosine| = %.2e: %s%n",
                s.queries.size(),
                hitsChecked,
                worst,
                GatewayScenario.verdict(scoresOk));

        boolean ok = presentOk && completeOk && searchableOk && scoresOk;
        System.out.println(ok ? "RESULT: all checks passed" : "RESULT: CHECKS FAILED");
        return ok;
    }

    /**
     * Null if {@code source} is what the pipeline writes: exactly {p,n,s,e} (the default, sealed) or {p,n,c,z,e}
     * (keyed) of the model's shape, and an ekr2: subject.
     */
    private static String incomplete(JsonNode source, int dimension, int prefixDim, int residualDim, int cells) {
        JsonNode vector = source.path(Demo.FIELD);
        if (!vector.isObject()) {
            return "[" + Demo.FIELD + "] is " + (vector.isArray() ? "a plain array" : vector.getNodeType());
        }
        Set<String> keys = new LinkedHashSet<>();
        vector.fieldNames().forEachRemaining(keys::add);
        Set<String> sealed = Set.of(RecordFormat.PREFIX, RecordFormat.NONCE, RecordFormat.SEALED, RecordFormat.EPOCH);
        Set<String> keyed = Set.of(
                RecordFormat.PREFIX,
                RecordFormat.NONCE,
                RecordFormat.CELL,
                RecordFormat.KEYED_RESIDUAL,
                RecordFormat.EPOCH);
        if (!keys.equals(sealed) && !keys.equals(keyed)) {
            return "[" + Demo.FIELD + "] has keys " + keys;
        }
        try {
            RecordFormat.fromMap(
                    OpenSearchHttp.JSON.convertValue(vector, Map.class),
                    "field [" + Demo.FIELD + "]",
                    new RecordFormat.Shape(dimension, prefixDim, residualDim, cells).withPaddingOptional());
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        JsonNode subject = source.path("subject");
        if (!subject.isTextual() || !subject.asText().startsWith(FieldCipher.RANDOMIZED_PREFIX)) {
            return "[subject] is not an " + FieldCipher.RANDOMIZED_PREFIX + " ciphertext";
        }
        return null;
    }
}
