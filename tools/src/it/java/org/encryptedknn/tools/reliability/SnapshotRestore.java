package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.keystore.KeystoreSettings;
import org.encryptedknn.keystore.ModelStore;

/**
 * Snapshot and restore of an encrypted index together with the model registry (driven by
 * {@code scripts/reliability.sh snapshot}; every node has {@code path.repo} set to the repository directory).
 *
 * <ul>
 *   <li>{@code create} (source node): model, pipelines, index of {@code --docs} documents through the encrypting
 *       pipeline; the top 10 (ids and exact scores) of the held-out queries through the search pipeline, checked against
 *       the plaintext cosine and written to {@code --expected}; then an {@code fs} repository and a snapshot of the index
 *       and of {@value ModelStore#INDEX} with the global state (the ingest and search pipelines live there).</li>
 *   <li>{@code restore --key same} (fresh node, same master key): restores both indices and the global state; every
 *       query must return exactly the expected ids and scores.</li>
 *   <li>{@code restore --key other} (fresh node, another master key): the documents are restored (the storage side
 *       needs no key), but every search-pipeline query and every ingest must be a 4xx that says the model cannot be
 *       decrypted with this node's key; no hit may come back.</li>
 * </ul>
 * Exit 1 if a check fails.
 *
 * <pre>java … org.encryptedknn.tools.reliability.SnapshotRestore create|restore --url URL --repo DIR --expected FILE
 *     [--key same|other] [--docs 2000] [--queries 100]</pre>
 */
public final class SnapshotRestore {

    static final String INDEX = "rel-snap";
    static final String REPOSITORY = "rel-repo";
    static final String SNAPSHOT = "snap-1";

    private SnapshotRestore() {}

    public static void main(String[] argv) throws IOException {
        Options a = Options.lenient("SnapshotRestore", argv);
        GatewayScenario s = GatewayScenario.fromArgs(a, 9411, 2000, 100);
        String repo = a.get("--repo", null);
        Path expected = Path.of(a.get("--expected", "expected.json"));
        boolean ok = switch (argv.length > 0 ? argv[0] : "") {
            case "create" -> create(s, repo, expected);
            case "restore" -> restore(s, repo, expected, a.get("--key", "same"));
            default ->
                throw new IllegalArgumentException(
                        "usage: SnapshotRestore create|restore --url URL --repo DIR --expected FILE …");
        };
        System.out.println(ok ? "RESULT: all checks passed" : "RESULT: CHECKS FAILED");
        System.exit(ok ? 0 : 1);
    }

    private static boolean create(GatewayScenario s, String repo, Path expectedFile) throws IOException {
        s.createIndex(INDEX, "1s");
        s.loadAll(INDEX);
        ArrayNode expected = OpenSearchHttp.JSON.createArrayNode();
        double worst = 0;
        for (float[] q : s.queries.vectors()) {
            List<GatewayScenario.Hit> hits = s.search(INDEX, q, 10);
            worst = Math.max(worst, s.maxScoreError(hits, q));
            ArrayNode row = expected.addArray();
            hits.forEach(h -> row.addObject().put("id", h.id()).put("score", h.score()));
        }
        Files.writeString(expectedFile, expected.toString());
        boolean scoresOk = worst <= GatewayScenario.SCORE_TOLERANCE;
        System.out.printf(
                Locale.ROOT,
                "before the snapshot: %d queries, max |score - plaintext cosine| = %.2e: %s%n",
                s.queries.size(),
                worst,
                GatewayScenario.verdict(scoresOk));

        registerRepository(s, repo);
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("indices", INDEX + "," + ModelStore.INDEX);
        body.put("include_global_state", true);
        long t0 = System.nanoTime();
        JsonNode snap = s.node.put("/_snapshot/" + REPOSITORY + "/" + SNAPSHOT + "?wait_for_completion=true", body)
                .path("snapshot");
        double seconds = (System.nanoTime() - t0) / 1e9;
        JsonNode stats = s.node.get("/_snapshot/" + REPOSITORY + "/" + SNAPSHOT + "/_status")
                .path("snapshots")
                .path(0)
                .path("stats");
        boolean snapOk = snap.path("state").asText().equals("SUCCESS")
                && snap.path("shards").path("failed").asInt() == 0
                && contains(snap.path("indices"), INDEX)
                && contains(snap.path("indices"), ModelStore.INDEX);
        System.out.printf(
                Locale.ROOT,
                "snapshot %s: state %s, indices %s, shards %d/%d, %.1f MB, %.1f s: %s%n",
                SNAPSHOT,
                snap.path("state").asText(),
                snap.path("indices"),
                snap.path("shards").path("successful").asInt(),
                snap.path("shards").path("total").asInt(),
                stats.path("total").path("size_in_bytes").asLong() / 1e6,
                seconds,
                GatewayScenario.verdict(snapOk));
        return scoresOk && snapOk;
    }

    private static boolean restore(GatewayScenario s, String repo, Path expectedFile, String key) throws IOException {
        JsonNode expected = OpenSearchHttp.JSON.readTree(Files.readString(expectedFile));
        registerRepository(s, repo);
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("indices", INDEX + "," + ModelStore.INDEX);
        body.put("include_global_state", true);
        long t0 = System.nanoTime();
        JsonNode restored = s.node.post(
                        "/_snapshot/" + REPOSITORY + "/" + SNAPSHOT + "/_restore?wait_for_completion=true", body)
                .path("snapshot");
        s.waitGreen(INDEX + "," + ModelStore.INDEX, 120);
        long count = s.node.get("/" + INDEX + "/_count").path("count").asLong();
        boolean restoreOk = restored.path("shards").path("failed").asInt() == 0
                && contains(restored.path("indices"), ModelStore.INDEX)
                && count == s.docs.size();
        System.out.printf(
                Locale.ROOT,
                "restored %s into a fresh node in %.1f s: %d documents, model %s public metadata epoch %d: %s%n",
                restored.path("indices"),
                (System.nanoTime() - t0) / 1e9,
                count,
                s.model().path("id").asText(),
                s.model().path("epoch").asInt(),
                GatewayScenario.verdict(restoreOk));
        boolean ok = restoreOk && (key.equals("other") ? otherKey(s) : sameKey(s, expected));
        return ok;
    }

    /** Same key: identical ids, in order, and identical scores. */
    private static boolean sameKey(GatewayScenario s, JsonNode expected) {
        int identical = 0;
        double worst = 0;
        for (int qi = 0; qi < s.queries.size(); qi++) {
            List<GatewayScenario.Hit> hits = s.search(INDEX, s.queries.vectors()[qi], 10);
            JsonNode want = expected.path(qi);
            boolean same = hits.size() == want.size();
            for (int i = 0; same && i < hits.size(); i++) {
                same = hits.get(i).id().equals(want.path(i).path("id").asText());
                worst = Math.max(
                        worst,
                        Math.abs(
                                hits.get(i).score() - want.path(i).path("score").asDouble()));
            }
            identical += same ? 1 : 0;
        }
        boolean ok = identical == s.queries.size() && worst == 0;
        System.out.printf(
                Locale.ROOT,
                "same key: %d/%d queries with the identical top-10 ids, max |score - score before| = %.2e: %s%n",
                identical,
                s.queries.size(),
                worst,
                GatewayScenario.verdict(ok));
        return ok;
    }

    /** Another key: every gateway operation is a clear 4xx, never an answer. */
    private static boolean otherKey(GatewayScenario s) {
        Map<String, Integer> outcomes = new LinkedHashMap<>();
        List<String> unclear = new ArrayList<>();
        String clear = "cannot be decrypted with the " + KeystoreSettings.MASTER_KEY;
        String example = null;
        for (float[] q : s.queries.vectors()) {
            String outcome;
            try {
                List<GatewayScenario.Hit> hits = s.search(INDEX, q, 10);
                outcome = "2xx with " + hits.size() + " hits";
            } catch (OpenSearchHttp.ResponseException e) {
                outcome = e.status() + (e.body().contains(clear) ? " naming the key" : " unclear");
                if (e.status() / 100 != 4 || !e.body().contains(clear)) {
                    unclear.add(e.body());
                }
                example = example == null ? e.status() + " " + GatewayScenario.errorReason(e.body()) : example;
            }
            outcomes.merge(outcome, 1, Integer::sum);
        }
        String ingest;
        try {
            s.node.put("/" + INDEX + "/_doc/new-1", s.document(0));
            ingest = "2xx (indexed!)";
        } catch (OpenSearchHttp.ResponseException e) {
            ingest = e.status() + " " + GatewayScenario.errorReason(e.body());
        }
        boolean ingestOk =
                ingest.startsWith("4") && ingest.contains(clear) && !s.node.exists("/" + INDEX + "/_doc/new-1");
        boolean ok =
                outcomes.keySet().stream().allMatch(o -> o.startsWith("4") && o.endsWith("naming the key")) && ingestOk;
        System.out.printf(
                Locale.ROOT,
                "other key: %d queries -> %s%n  e.g. %s%n  ingest of one document -> %s: %s%n",
                s.queries.size(),
                outcomes,
                example,
                ingest,
                GatewayScenario.verdict(ok));
        if (!unclear.isEmpty()) {
            System.out.println("  first answer that is not a clear 4xx: " + unclear.get(0));
        }
        return ok;
    }

    private static void registerRepository(GatewayScenario s, String repo) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("type", "fs");
        body.putObject("settings").put("location", repo);
        s.node.put("/_snapshot/" + REPOSITORY, body);
    }

    private static boolean contains(JsonNode array, String value) {
        for (JsonNode v : array) {
            if (v.asText().equals(value)) {
                return true;
            }
        }
        return false;
    }
}
