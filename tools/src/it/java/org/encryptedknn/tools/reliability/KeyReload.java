package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.keystore.KeystoreSettings;

/**
 * Keystore reload while serving (driven by {@code scripts/reliability.sh reload}): {@code --threads} clients query the
 * search pipeline continuously while this program replaces {@value KeystoreSettings#MASTER_KEY} in the node's keystore
 * with another key ({@code scripts/opensearch.sh keystore-add}, the key file is the command's stdin and is never read
 * here) and calls {@code POST _nodes/reload_secure_settings}, then puts the original key back the same way.
 *
 * <p>Every answer is classified against the top 10 the same query returned before any change: <em>ok</em> (same ids in
 * the same order, scores within 1e-4), <em>clean failure</em> (a 4xx that names the key problem), or <em>wrong</em>
 * (anything else: other results, a 5xx, an unclear error, no answer). A last phase reloads the original key back to
 * back (100 ms apart) for {@code --phase-seconds} (every reload retires the generation that in-flight queries hold). Checks: no wrong
 * answer; before the change, after the key is back and through the reload storm every query is ok; while the other key
 * is installed (from the moment its reload returned) no query is ok, i.e. the reload took effect. Exit 1 if a check
 * fails.
 *
 * <pre>java … org.encryptedknn.tools.reliability.KeyReload --url URL --name NODE --key-file ORIGINAL --other-key-file OTHER
 *     [--docs 1000] [--queries 50] [--threads 4] [--phase-seconds 10]</pre>
 */
public final class KeyReload {

    static final String INDEX = "rel-reload";
    static final String[] PHASES = {
        "original key",
        "writing other key + reload",
        "other key",
        "writing original key + reload",
        "original key again",
        "reload storm, original key"
    };
    static final int OK = 0;
    static final int CLEAN = 1;
    static final int WRONG = 2;

    private final GatewayScenario s;
    private final List<List<GatewayScenario.Hit>> expected = new ArrayList<>();
    private final AtomicLongArray counts = new AtomicLongArray(PHASES.length * 3);
    private final Map<String, Integer> failures = new LinkedHashMap<>();
    private volatile int phase;

    private KeyReload(GatewayScenario s) {
        this.s = s;
    }

    public static void main(String[] argv) throws Exception {
        Options a = Options.lenient("KeyReload", argv);
        KeyReload r = new KeyReload(GatewayScenario.fromArgs(a, 9414, 1000, 50));
        String name = a.get("--name", null);
        Path original = Path.of(a.get("--key-file", ""));
        Path other = Path.of(a.get("--other-key-file", ""));
        boolean ok = r.run(name, original, other, a.integer("--threads", 4), a.integer("--phase-seconds", 10));
        System.out.println(ok ? "RESULT: all checks passed" : "RESULT: CHECKS FAILED");
        System.exit(ok ? 0 : 1);
    }

    private boolean run(String name, Path original, Path other, int threads, int phaseSeconds) throws Exception {
        s.createIndex(INDEX, "1s");
        s.loadAll(INDEX);
        double worst = 0;
        for (float[] q : s.queries.vectors()) {
            List<GatewayScenario.Hit> hits = s.search(INDEX, q, 10);
            worst = Math.max(worst, s.maxScoreError(hits, q));
            expected.add(hits);
        }
        boolean baselineOk = worst <= GatewayScenario.SCORE_TOLERANCE;
        System.out.printf(
                Locale.ROOT,
                "expected top 10 of %d queries before the change: max |score - plaintext cosine| = %.2e: %s%n",
                s.queries.size(),
                worst,
                GatewayScenario.verdict(baselineOk));

        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> clients = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = t;
            clients.add(Thread.ofPlatform().name("query-" + t).start(() -> query(first, threads, stop)));
        }
        Thread.sleep(phaseSeconds * 1000L);
        double toOther = swap(name, other, 1);
        Thread.sleep(phaseSeconds * 1000L);
        double back = swap(name, original, 3);
        Thread.sleep(phaseSeconds * 1000L);
        // Each reload installs a new generation and retires the previous one under the queries still holding it.
        phase = 5;
        int storm = 0;
        long stormEnd = System.nanoTime() + phaseSeconds * 1_000_000_000L;
        while (System.nanoTime() < stormEnd) {
            reload();
            storm++;
            Thread.sleep(100); // lets queries start between reloads; each new generation decrypts the model again
        }
        stop.set(true);
        for (Thread c : clients) {
            c.join();
        }

        System.out.printf(
                Locale.ROOT,
                "%d client threads, %d s per phase; keystore write + reload took %.1f s (other key), %.1f s (back); "
                        + "%d reloads in the storm%n",
                threads,
                phaseSeconds,
                toOther,
                back,
                storm);
        System.out.printf(Locale.ROOT, "%-30s %8s %8s %8s%n", "phase (by query start)", "ok", "clean", "wrong");
        long[] total = new long[3];
        for (int p = 0; p < PHASES.length; p++) {
            System.out.printf(
                    Locale.ROOT, "%-30s %8d %8d %8d%n", PHASES[p], count(p, OK), count(p, CLEAN), count(p, WRONG));
            for (int k = 0; k < 3; k++) {
                total[k] += count(p, k);
            }
        }
        System.out.printf(Locale.ROOT, "%-30s %8d %8d %8d%n", "total", total[OK], total[CLEAN], total[WRONG]);
        failures.forEach((f, n) -> System.out.printf(Locale.ROOT, "  x%d %s%n", n, f));

        boolean noWrong = total[WRONG] == 0;
        boolean servedBefore = count(0, OK) > 0 && count(0, CLEAN) == 0;
        boolean switched = count(2, OK) == 0 && count(2, CLEAN) > 0;
        boolean servedAfter = count(4, OK) > 0 && count(4, CLEAN) == 0 && count(5, OK) > 0 && count(5, CLEAN) == 0;
        System.out.printf(
                Locale.ROOT,
                "no wrong answer: %s; all ok before: %s; other key refused once reloaded: %s; all ok after the "
                        + "original key is back and through the reload storm: %s%n",
                GatewayScenario.verdict(noWrong),
                GatewayScenario.verdict(servedBefore),
                GatewayScenario.verdict(switched),
                GatewayScenario.verdict(servedAfter));
        return baselineOk && noWrong && servedBefore && switched && servedAfter;
    }

    /** Writes {@code keyFile} into the node's keystore and reloads; phase {@code during} until the reload returned. */
    private double swap(String name, Path keyFile, int during) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        phase = during;
        Process p = new ProcessBuilder(
                        "bash", "scripts/opensearch.sh", "keystore-add", "--name", name, KeystoreSettings.MASTER_KEY)
                .redirectInput(keyFile.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("scripts/opensearch.sh keystore-add exited with " + p.exitValue());
        }
        reload();
        phase = during + 1;
        return (System.nanoTime() - t0) / 1e9;
    }

    private void reload() {
        JsonNode reload = s.node.post("/_nodes/reload_secure_settings", null);
        for (JsonNode n : reload.path("nodes")) {
            if (n.has("reload_exception")) {
                throw new IllegalStateException("reload failed on a node: "
                        + n.path("reload_exception").path("reason").asText());
            }
        }
    }

    private void query(int first, int stride, AtomicBoolean stop) {
        String clear = KeystoreSettings.MASTER_KEY;
        for (int i = first; !stop.get(); i += stride) {
            int qi = i % s.queries.size();
            int started = phase;
            int outcome;
            try {
                List<GatewayScenario.Hit> hits = s.search(INDEX, s.queries.vectors()[qi], 10);
                outcome = matches(hits, expected.get(qi)) ? OK : WRONG;
                if (outcome == WRONG) {
                    note("2xx with other results than before the change: " + hits);
                }
            } catch (OpenSearchHttp.ResponseException e) {
                outcome = e.status() / 100 == 4 && e.body().contains(clear) ? CLEAN : WRONG;
                note(e.status() + " " + GatewayScenario.errorReason(e.body()));
            } catch (RuntimeException e) {
                outcome = WRONG;
                note("no answer: " + e.getMessage());
            }
            counts.incrementAndGet(started * 3 + outcome);
        }
    }

    private static boolean matches(List<GatewayScenario.Hit> hits, List<GatewayScenario.Hit> want) {
        if (hits.size() != want.size()) {
            return false;
        }
        for (int i = 0; i < hits.size(); i++) {
            if (!hits.get(i).id().equals(want.get(i).id())
                    || Math.abs(hits.get(i).score() - want.get(i).score()) > GatewayScenario.SCORE_TOLERANCE) {
                return false;
            }
        }
        return true;
    }

    private synchronized void note(String failure) {
        failures.merge(failure.length() > 300 ? failure.substring(0, 300) + "…" : failure, 1, Integer::sum);
    }

    private long count(int p, int outcome) {
        return counts.get(p * 3 + outcome);
    }
}
