package org.encryptedknn.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.encryptedknn.client.CkksSearch;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.he.CiphertextWire;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.VectorTransform;

/**
 * ckks-mode rescoring against a running node (docs/ckks-mode.md), next to keyed mode and the plaintext opensearch-knn
 * (lucene) baseline, in one run:
 * <ul>
 *   <li>agreement: ckks top-10 = keyed top-10 (both exact key-holder rankings), |ckks score − plaintext cosine| per hit;</li>
 *   <li>per K (window = k = size): end-to-end p50/p95 of the three modes, server CKKS time (from the node's
 *       {@code ckks_time_in_nanos} counter, read between queries), key-holder encrypt and decrypt time, bytes up/down;</li>
 *   <li>hostile input: N requests with bad ciphertexts, every one must be a 4xx; node health and a correct query after.</li>
 * </ul>
 * <pre>java … org.encryptedknn.tools.bench.CkksSearchBench [--url http://127.0.0.1:9260] [--docs 0=all] [--queries 200]
 *     [--ks 40,100,200] [--cells 64] [--probe 8] [--hostile 1000]</pre>
 */
public final class CkksSearchBench {

    static final String FIELD = SearchBench.FIELD;
    static final int TOP = SearchBench.TOP;

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("CkksSearchBench", args);
        String url = a.get("--url", "http://127.0.0.1:9260");
        int cells = a.integer("--cells", 64);
        int probe = a.integer("--probe", 8);
        int hostile = a.integer("--hostile", 1000);
        int[] ks = Arrays.stream(a.get("--ks", "40,100,200").split(","))
                .mapToInt(Integer::parseInt)
                .toArray();

        SearchBench.Workload workload = SearchBench.Workload.load(a);
        float[][] vectors = workload.vectors();
        float[][] queries = workload.queries();
        int d = workload.dimension();
        ModelParameters params = new ModelParameters(d, Space.COSINE, d / 4, cells, ModelParameters.DEFAULT_BETA, 1);
        OpenSearchHttp node = new OpenSearchHttp(url);

        try (MasterKey master = MasterKey.generate();
                KeyDerivation keys = new KeyDerivation(master)) {
            EncryptionModel model =
                    ModelFitter.fit("ckbench", params, Arrays.copyOf(vectors, Math.min(2000, vectors.length)));
            CkksParameters ckksParams = CkksParameters.forResidualLength(model.residualLength());
            try (VectorTransform transform = new VectorTransform(model, keys);
                    CkksContext ctx = CkksContext.create(ckksParams);
                    CkksSecretKey sk = CkksSecretKey.generate(ctx);
                    CkksKeyHolder kh = new CkksKeyHolder(ctx, sk)) {
                transform.warmUp();
                SearchBench.indexPlain(node, vectors, d);
                SearchBench.indexEncrypted(node, transform, vectors);
                System.out.printf(
                        Locale.ROOT,
                        "CKKS: N=%d q=%s scale=2^%d B=%d -> %d candidates per ciphertext; probe %d of %d cells%n",
                        ckksParams.polyDegree(),
                        ckksParams.coeffModulusBits(),
                        ckksParams.scaleBits(),
                        ckksParams.blockWidth(),
                        ctx.blocks(),
                        probe,
                        cells);

                for (int k : ks) {
                    runK(node, transform, kh, queries, vectors, k, probe);
                }
                hostileRun(node, transform, kh, queries[0], probe, hostile);
            }
        }
    }

    static final class Series {
        final double[] v;
        int n;

        Series(int size) {
            v = new double[size];
        }

        void add(double x) {
            v[n++] = x;
        }

        double p(double q) {
            return SearchBench.percentile(Arrays.copyOf(v, n), q);
        }

        double mean() {
            return Arrays.stream(v, 0, n).average().orElse(Double.NaN);
        }
    }

    static long serverCkksNanos(OpenSearchHttp node) {
        JsonNode nodes = node.get("/_plugins/encrypted_knn/stats").path("nodes");
        return nodes.elements().next().path("ckks_time_in_nanos").asLong();
    }

    static void runK(
            OpenSearchHttp node,
            VectorTransform transform,
            CkksKeyHolder kh,
            float[][] queries,
            float[][] vectors,
            int k,
            int probe) {
        int n = queries.length;
        Series plainMs = new Series(n), keyedMs = new Series(n), ckksMs = new Series(n), serverMs = new Series(n);
        Series encMs = new Series(n), decMs = new Series(n), rankMs = new Series(n);
        Series plainTook = new Series(n),
                keyedTook = new Series(n),
                ckksTook = new Series(n),
                ckksPostMs = new Series(n);
        Series ckksJsonMs = new Series(n),
                ckksJsonUp = new Series(n),
                ckksJsonDown = new Series(n),
                plainKMs = new Series(n);
        Series ckksUp = new Series(n), ckksDown = new Series(n), keyedUp = new Series(n), keyedDown = new Series(n);
        Series plainUp = new Series(n), plainDown = new Series(n), batches = new Series(n);
        int agree = 0;
        int agreeTies = 0;
        int agreeFirstRound = 0;
        int followUps = 0;
        Series followUpCells = new Series(n + 10);
        int unprobedInKeyedTop = 0;
        int exactHits = 0;
        double maxErr = 0;
        int warm = Math.min(10, n);
        for (int i = -warm; i < n; i++) {
            int qi = i < 0 ? i + warm : i;
            float[] qv = queries[qi];

            // plaintext opensearch-knn (lucene)
            long s0 = node.bytesSent(), r0 = node.bytesReceived();
            long t = System.nanoTime();
            ObjectNode plainBody = OpenSearchHttp.JSON.createObjectNode();
            plainBody.put("size", TOP);
            plainBody.put("_source", false);
            ObjectNode knn = plainBody.putObject("query").putObject("knn").putObject(FIELD);
            knn.set("vector", Indices.floats(qv));
            knn.put("k", k);
            JsonNode pr = node.post("/" + SearchBench.PLAIN_INDEX + "/_search", plainBody);
            double plain = ms(t);
            long plainSent = node.bytesSent() - s0, plainRecv = node.bytesReceived() - r0;
            // the same plaintext query returning all K hits, as the encrypted modes must (ids only)
            t = System.nanoTime();
            node.post(
                    "/" + SearchBench.PLAIN_INDEX + "/_search",
                    plainBody.deepCopy().put("size", k));
            double plainK = ms(t);

            // keyed mode: exact key-holder ranking
            s0 = node.bytesSent();
            r0 = node.bytesReceived();
            t = System.nanoTime();
            EncryptedSearch keyed = new EncryptedSearch(transform, FIELD, qv);
            keyed.withCells(transform.probeCells(keyed.query(), probe));
            // ids only (as the plaintext query): each hit's _encrypted_knn field has what the key holder needs
            JsonNode kr = node.post(
                    "/" + SearchBench.ENCRYPTED_INDEX + "/_search",
                    keyed.keyedBody(k, k, k).put("_source", false));
            List<EncryptedSearch.ExactHit> keyedRank = keyed.exactRanking(kr);
            double keyedTime = ms(t);
            long keyedSent = node.bytesSent() - s0, keyedRecv = node.bytesReceived() - r0;

            // ckks mode, CBOR transport (ciphertexts as byte strings)
            long server0 = serverCkksNanos(node);
            s0 = node.bytesSent();
            r0 = node.bytesReceived();
            t = System.nanoTime();
            EncryptedSearch base = new EncryptedSearch(transform, FIELD, qv);
            base.withCells(transform.probeCells(base.query(), probe));
            CkksSearch ckks = new CkksSearch(base, kh);
            ObjectNode body = ckks.body(k, k, k).put("_source", false);
            long post = System.nanoTime();
            JsonNode cr = node.postCbor("/" + SearchBench.ENCRYPTED_INDEX + "/_search", body);
            double postMs = ms(post);
            List<CkksSearch.Hit> ckksRank = ckks.ranking(cr);
            List<CkksSearch.Hit> firstRound = ckksRank;
            // flagged hits (cell not probed) that could still reach the top 10: ask again for those only
            ObjectNode followUp = ckks.followUpBody(ckksRank, TOP);
            if (followUp != null) {
                ckksRank =
                        ckks.merge(ckksRank, node.postCbor("/" + SearchBench.ENCRYPTED_INDEX + "/_search", followUp));
            }
            double ckksTime = ms(t);
            long ckksSent = node.bytesSent() - s0, ckksRecv = node.bytesReceived() - r0;
            double server = (serverCkksNanos(node) - server0) / 1e6;

            // the same ckks search with JSON transport (ciphertexts as base64 text), for the comparison only
            long js0 = node.bytesSent(), jr0 = node.bytesReceived();
            t = System.nanoTime();
            EncryptedSearch jsonBase = new EncryptedSearch(transform, FIELD, qv);
            jsonBase.withCells(transform.probeCells(jsonBase.query(), probe));
            CkksSearch jsonCkks = new CkksSearch(jsonBase, kh);
            jsonCkks.ranking(node.post(
                    "/" + SearchBench.ENCRYPTED_INDEX + "/_search",
                    jsonCkks.body(k, k, k).put("_source", false)));
            double jsonTime = ms(t);
            long jsonSent = node.bytesSent() - js0, jsonRecv = node.bytesReceived() - jr0;
            if (i < 0) {
                continue;
            }
            plainMs.add(plain);
            plainKMs.add(plainK);
            keyedMs.add(keyedTime);
            ckksMs.add(ckksTime);
            plainTook.add(pr.path("took").asDouble());
            keyedTook.add(kr.path("took").asDouble());
            ckksTook.add(cr.path("took").asDouble());
            ckksPostMs.add(postMs);
            ckksJsonMs.add(jsonTime);
            ckksJsonUp.add(jsonSent);
            ckksJsonDown.add(jsonRecv);
            serverMs.add(server);
            encMs.add(ckks.encryptNanos() / 1e6);
            decMs.add(ckks.decryptNanos() / 1e6);
            rankMs.add(ckks.rankingNanos() / 1e6);
            plainUp.add(plainSent);
            plainDown.add(plainRecv);
            keyedUp.add(keyedSent);
            keyedDown.add(keyedRecv);
            ckksUp.add(ckksSent);
            ckksDown.add(ckksRecv);
            batches.add(ckks.batchesDecrypted());

            // agreement and exactness
            List<String> a = new ArrayList<>();
            for (int j = 0; j < Math.min(TOP, keyedRank.size()); j++) {
                a.add(keyedRank.get(j).id());
            }
            // (unprobed ckks hits carry the prefix term only: CkksSearch ranks them after every exact hit)
            List<String> c = new ArrayList<>();
            for (int j = 0; j < Math.min(TOP, ckksRank.size()); j++) {
                c.add(ckksRank.get(j).id());
            }
            if (a.equals(c)) {
                agree++;
            }
            // equal up to exact ties: the corpus holds duplicate messages (identical embeddings, equal true scores),
            // which CKKS noise (≈1e-7) may order either way
            Map<String, Double> keyedScore = new HashMap<>();
            for (EncryptedSearch.ExactHit h : keyedRank) {
                keyedScore.put(h.id(), h.score());
            }
            boolean tieEqual = c.size() == a.size();
            for (int j = 0; tieEqual && j < a.size(); j++) {
                Double sc = keyedScore.get(c.get(j));
                tieEqual = sc != null && Math.abs(sc - keyedRank.get(j).score()) < 1e-5;
            }
            if (tieEqual) {
                agreeTies++;
            }
            List<String> first = new ArrayList<>();
            for (int j = 0; j < Math.min(TOP, firstRound.size()); j++) {
                first.add(firstRound.get(j).id());
            }
            if (a.equals(first)) {
                agreeFirstRound++;
            }
            if (followUp != null) {
                followUps++;
                followUpCells.add(ckks.followUpCells());
            }
            Map<String, Integer> cellOf = new HashMap<>();
            for (CkksSearch.Hit h : firstRound) {
                cellOf.put(h.id(), h.probed() ? 1 : 0);
            }
            for (String id : a) {
                if (cellOf.getOrDefault(id, 1) == 0) {
                    unprobedInKeyedTop++;
                    break;
                }
            }
            for (CkksSearch.Hit h : ckksRank) {
                if (h.exact()) {
                    double truth = VectorTransform.similarity(qv, vectors[Integer.parseInt(h.id())], Space.COSINE);
                    maxErr = Math.max(maxErr, Math.abs(truth - h.score()));
                    exactHits++;
                }
            }
        }
        System.out.printf(Locale.ROOT, "%n== K = %d (window = k = size = %d), %d queries ==%n", k, k, n);
        System.out.printf(
                Locale.ROOT,
                "ckks top-10 == keyed top-10 (exact rankings): %d/%d = %.1f%%; queries whose keyed top-10 has an unprobed-cell hit: %d%n",
                agree,
                n,
                100.0 * agree / n,
                unprobedInKeyedTop);
        System.out.printf(
                Locale.ROOT,
                "  equal up to exact ties (|score difference| < 1e-5 at every rank): %d/%d = %.1f%%%n",
                agreeTies,
                n,
                100.0 * agreeTies / n);
        System.out.printf(
                Locale.ROOT,
                "  first round only (flagged hits ranked last): %d/%d = %.1f%%; follow-up requests: %d/%d queries, mean %.1f cells%n",
                agreeFirstRound,
                n,
                100.0 * agreeFirstRound / n,
                followUps,
                n,
                followUpCells.n == 0 ? 0 : followUpCells.mean());
        System.out.printf(
                Locale.ROOT, "max |ckks score - plaintext cosine| over %d exact hits: %.2e%n", exactHits, maxErr);
        System.out.printf(Locale.ROOT, "%-44s %10s %10s%n", "", "p50", "p95");
        row("end-to-end plaintext knn (lucene), ms", plainMs);
        row("end-to-end plaintext knn, size K, ms", plainKMs);
        row("end-to-end keyed mode, ms", keyedMs);
        row("end-to-end ckks mode, CBOR (incl. follow-ups), ms", ckksMs);
        row("end-to-end ckks mode, JSON, ms", ckksJsonMs);
        row("server \"took\": plaintext knn, ms", plainTook);
        row("server \"took\": keyed mode, ms", keyedTook);
        row("server \"took\": ckks mode, ms", ckksTook);
        row("ckks request round trip (HTTP, CBOR), ms", ckksPostMs);
        row("server CKKS time (node counter), ms", serverMs);
        row("key holder: encrypt cell queries, ms", encMs);
        row("key holder: CKKS decrypt, ms", decMs);
        row("key holder: whole ranking (decrypt+SAP+sort), ms", rankMs);
        System.out.printf(Locale.ROOT, "%-44s %10s %10s %10s%n", "bytes per query (mean)", "up", "down", "batches");
        System.out.printf(
                Locale.ROOT, "%-44s %10.0f %10.0f%n", "plaintext knn (size 10)", plainUp.mean(), plainDown.mean());
        System.out.printf(
                Locale.ROOT,
                "%-44s %10.0f %10.0f%n",
                "keyed (size K, ids + _encrypted_knn field)",
                keyedUp.mean(),
                keyedDown.mean());
        System.out.printf(
                Locale.ROOT,
                "%-44s %10.0f %10.0f %10.1f%n",
                "ckks, CBOR (size K, ids + _encrypted_knn)",
                ckksUp.mean(),
                ckksDown.mean(),
                batches.mean());
        System.out.printf(
                Locale.ROOT,
                "%-44s %10.0f %10.0f%n",
                "ckks, JSON (size K, ids + _encrypted_knn)",
                ckksJsonUp.mean(),
                ckksJsonDown.mean());
    }

    static void row(String name, Series s) {
        System.out.printf(Locale.ROOT, "%-44s %10.2f %10.2f%n", name, s.p(50), s.p(95));
    }

    static double ms(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    /** Bad ciphertexts of every kind; each request must be answered with a 4xx. */
    static void hostileRun(
            OpenSearchHttp node, VectorTransform transform, CkksKeyHolder kh, float[] qv, int probe, int count) {
        Random r = new Random(1);
        EncryptedSearch base = new EncryptedSearch(transform, FIELD, qv);
        base.withCells(transform.probeCells(base.query(), probe));
        ObjectNode good = new CkksSearch(base, kh).body(100, 100, 100);
        ObjectNode cellsNode = (ObjectNode)
                good.path("rescore").path("encrypted_knn").path("query").path("cells");
        String cell = cellsNode.fieldNames().next();
        byte[] wire = Base64.getDecoder().decode(cellsNode.path(cell).asText());
        byte[] real = CiphertextWire.unpack(wire, kh.context().maxQueryBytes(), "query"); // SEAL bytes, re-packed below
        JsonNode stats0 = node.get("/_plugins/encrypted_knn/stats")
                .path("nodes")
                .elements()
                .next();
        Map<String, Integer> kinds = new HashMap<>();
        int fourXX = 0;
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            ObjectNode body = good.deepCopy();
            ObjectNode q =
                    (ObjectNode) body.path("rescore").path("encrypted_knn").path("query");
            ObjectNode cs = (ObjectNode) q.path("cells");
            int kind = i % 8;
            String value;
            switch (kind) {
                case 0 -> { // random bytes of a plausible length
                    byte[] b = new byte[r.nextInt(real.length) + 1];
                    r.nextBytes(b);
                    value = Base64.getEncoder().encodeToString(b);
                }
                case 1 ->
                    value = Base64.getEncoder()
                            .encodeToString(Arrays.copyOf(wire, r.nextInt(wire.length))); // truncated
                case 2 -> { // truncated with a consistent header: reaches the native loader
                    byte[] b = Arrays.copyOf(real, 16 + r.nextInt(real.length - 16));
                    long size = b.length;
                    for (int j = 0; j < 8; j++) {
                        b[8 + j] = (byte) (size >>> (8 * j));
                    }
                    value = Base64.getEncoder().encodeToString(CiphertextWire.pack(b));
                }
                case 3 -> { // header bytes flipped
                    byte[] b = real.clone();
                    b[r.nextInt(16)] ^= (byte) (1 + r.nextInt(255));
                    value = Base64.getEncoder().encodeToString(CiphertextWire.pack(b));
                }
                case 4 ->
                    value = "!!" + Base64.getEncoder().encodeToString(wire).substring(2); // bad base64
                case 5 -> value = "A".repeat(200_000); // huge
                case 6 -> { // metadata after the SEAL header corrupted (consistent size)
                    byte[] b = real.clone();
                    for (int j = 0; j < 64; j++) {
                        b[16 + r.nextInt(Math.min(256, b.length - 16))] = (byte) r.nextInt(256);
                    }
                    value = Base64.getEncoder().encodeToString(CiphertextWire.pack(b));
                }
                default -> { // other parameters claimed for a 4096 ciphertext
                    value = Base64.getEncoder().encodeToString(wire);
                    ObjectNode p = (ObjectNode) q.path("ckks");
                    p.put("poly_degree", 8192);
                    p.putArray("coeff_modulus_bits").add(50);
                }
            }
            cs.put(cell, value);
            try {
                node.post("/" + SearchBench.ENCRYPTED_INDEX + "/_search", body);
                kinds.merge("kind " + kind + " accepted (2xx)", 1, Integer::sum);
            } catch (OpenSearchHttp.ResponseException e) {
                if (e.status() >= 400 && e.status() < 500) {
                    fourXX++;
                } else {
                    kinds.merge("kind " + kind + " status " + e.status(), 1, Integer::sum);
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        JsonNode health = node.get("/_cluster/health");
        JsonNode stats1 = node.get("/_plugins/encrypted_knn/stats")
                .path("nodes")
                .elements()
                .next();
        // a correct query afterwards
        EncryptedSearch again = new EncryptedSearch(transform, FIELD, qv);
        again.withCells(transform.probeCells(again.query(), probe));
        CkksSearch ok = new CkksSearch(again, kh);
        List<CkksSearch.Hit> hits =
                ok.ranking(node.post("/" + SearchBench.ENCRYPTED_INDEX + "/_search", ok.body(100, 100, 100)));
        System.out.printf(
                Locale.ROOT, "%n== hostile input: %d requests with bad ciphertexts in %.1f s ==%n", count, seconds);
        System.out.printf(
                Locale.ROOT, "4xx: %d/%d; other outcomes: %s%n", fourXX, count, kinds.isEmpty() ? "none" : kinds);
        System.out.printf(
                Locale.ROOT,
                "node health after: %s; ckks_rejections +%d; native memory in use %d -> %d bytes%n",
                health.path("status").asText(),
                stats1.path("ckks_rejections").asLong()
                        - stats0.path("ckks_rejections").asLong(),
                stats0.path("native_memory_in_use_bytes").asLong(),
                stats1.path("native_memory_in_use_bytes").asLong());
        System.out.printf(
                Locale.ROOT,
                "correct query after: %d hits, %d batches decrypted, top score %.4f%n",
                hits.size(),
                ok.batchesDecrypted(),
                hits.isEmpty() ? Double.NaN : hits.get(0).score());
    }
}
