package org.encryptedknn.tools.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.keys.RecordSeal;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;

/**
 * The audit of an index on a node, from the storage tier's side: it scrolls the stored records (p, c, z) out of
 * {@code _source} and evaluates them against the plaintext of the documents it can map (document {@code _id} = an
 * integer i, plaintext = corpus vector {@code idOffset + i}, the convention of the search benchmark). No key is
 * used: the attacker's residual frame is estimated from the plaintext sample (PCA complement of the top d_pub axes).
 */
public final class IndexAudit {

    /** Stored records with their ids. */
    public record Stored(List<String> ids, List<EncryptedVector> records) {}

    private IndexAudit() {}

    /** Scrolls every stored record of {@code field} in {@code index}. */
    public static Stored scroll(OpenSearchHttp http, String index, String field, ProgressLog log) {
        ObjectNode body = OpenSearchHttp.JSON.createObjectNode();
        body.put("size", 1000);
        body.putArray("_source").add(field);
        body.putObject("query").putObject("match_all");
        JsonNode page = http.post("/" + index + "/_search?scroll=2m", body);
        List<String> ids = new ArrayList<>();
        List<EncryptedVector> recs = new ArrayList<>();
        while (true) {
            JsonNode hits = page.path("hits").path("hits");
            if (hits.size() == 0) {
                break;
            }
            for (JsonNode h : hits) {
                JsonNode src = h.path("_source").path(field);
                if (src.isMissingNode() || src.isNull()) {
                    continue;
                }
                ids.add(h.path("_id").asText());
                recs.add(EncryptedSearch.parseRecord(src, field, shapeOf(src)));
            }
            log.info("scrolled %d records", recs.size());
            ObjectNode next = OpenSearchHttp.JSON.createObjectNode();
            next.put("scroll", "2m");
            next.put("scroll_id", page.path("_scroll_id").asText());
            page = http.post("/_search/scroll", next);
        }
        try {
            http.delete("/_search/scroll/"
                    + java.net.URLEncoder.encode(
                            page.path("_scroll_id").asText(), java.nio.charset.StandardCharsets.UTF_8));
        } catch (RuntimeException ignored) {
            // scroll contexts expire anyway
        }
        return new Stored(ids, recs);
    }

    /**
     * The shape a stored record has (the mapper checked it against the mapping): an index may hold sealed and keyed
     * records side by side, so each is read with its own.
     */
    private static RecordFormat.Shape shapeOf(JsonNode record) {
        int width = record.path(RecordFormat.PREFIX).size();
        int residual = EncryptedVector.decodeFloats(
                        record.path(RecordFormat.KEYED_RESIDUAL).asText())
                .length;
        int sealedBytes =
                Base64.getDecoder().decode(record.path(RecordFormat.SEALED).asText()).length;
        int dimension = sealedBytes > 0 ? (sealedBytes - RecordSeal.TAG_BYTES) / Float.BYTES : 0;
        return new RecordFormat.Shape(dimension, width, residual, Integer.MAX_VALUE);
    }

    /** Runs the key-less attacks on the stored records and writes {@code outDir/report.md}. */
    public static Report run(
            String url, String index, String field, int idOffset, LeakageAudit.Config cfg, ProgressLog log)
            throws IOException {
        Files.createDirectories(cfg.outDir());
        Stored stored = scroll(new OpenSearchHttp(url), index, field, log);
        EmbeddedCorpus corpus = EmbeddedCorpus.load(cfg.corpusLimit());
        float[][] all = Vectors.normalizedAll(corpus.vectors());
        List<float[]> plain = new ArrayList<>();
        List<EncryptedVector> recs = new ArrayList<>();
        boolean[] used = new boolean[all.length];
        for (int i = 0; i < stored.ids().size(); i++) {
            try {
                int k = idOffset + Integer.parseInt(stored.ids().get(i));
                if (k >= 0 && k < all.length) {
                    plain.add(all[k]);
                    recs.add(stored.records().get(i));
                    used[k] = true;
                }
            } catch (NumberFormatException ignored) {
                // not an id we can map to a plaintext
            }
        }
        int n = recs.size();
        if (n < 100) {
            throw new IllegalStateException(
                    "only " + n + " stored records could be mapped to a plaintext (ids must be integers)");
        }
        float[][] x = plain.toArray(new float[0][]);
        float[][] p = new float[n][];
        float[][] z = new float[n][];
        int[] cell = new int[n];
        int cells = 0;
        for (int i = 0; i < n; i++) {
            p[i] = recs.get(i).prefix();
            z[i] = recs.get(i).keyedResidual();
            cell[i] = recs.get(i).cell();
            cells = Math.max(cells, cell[i] + 1);
        }
        int dp = p[0].length;
        int d = x[0].length;
        int dr = d - dp;
        // a padded record (residual v2) stores d − d_pub + 1 values of one public norm T: the reference is then [r; t]
        double residualNorm = z[0].length == dr + 1 ? Vectors.norm(z[0]) : 0;
        log.info(
                "%d stored records mapped to plaintexts (%d stored in total), d_pub=%d, d−d_pub=%d, %d cells seen",
                n, stored.ids().size(), dp, dr, cells);
        Report report = new Report();
        // attacker's sample: corpus documents not in the index if there are enough, else the stored documents'
        // plaintexts
        List<float[]> outside = new ArrayList<>();
        for (int k = 0; k < all.length; k++) {
            if (!used[k]) {
                outside.add(all[k]);
            }
        }
        float[][] sample = outside.size() >= 2 * dp ? outside.toArray(new float[0][]) : x;
        // PCA known-sample
        PrefixAttack.PcaResult pca = PrefixAttack.pca(sample, p, x, 1000, 20, cfg.seed());
        report.summary(
                "PCA known-sample on the prefix",
                "R@1 vs " + n + " plaintexts (moment signs / 20-anchor signs)",
                Report.f(pca.r1Moments()) + " / " + Report.f(pca.r1Anchors()),
                "sample of " + sample.length);
        if (recs.stream().anyMatch(EncryptedVector::isSealed)) {
            // sealed records store no cell and no z: nothing for the cell and residual attacks to work on
            report.summary(
                    "sealed records",
                    "records with a cell or a keyed residual",
                    Long.toString(recs.stream().filter(v -> !v.isSealed()).count()) + " / " + n,
                    "s is AES-256-GCM: the cell and residual attacks do not apply");
            writeReport(report, cfg, index, field, url, stored, n);
            return report;
        }
        // cells
        int[] sizes = new int[cells];
        for (int c : cell) {
            sizes[c]++;
        }
        int[] sorted = sizes.clone();
        Arrays.sort(sorted);
        int big = Metrics.countAtLeast(sizes, dr);
        report.summary(
                "cell keys (targeted)",
                "cells holding ≥ " + dr + " stored records",
                big + " / " + cells + " (largest " + sorted[cells - 1] + ")",
                big == 0 ? "micro-key regime" : "keys of those cells recoverable");
        // neighbour leakage (no unnoised baseline without the key)
        SplittableRandom random = new SplittableRandom(cfg.seed());
        int[] probes = Arrays.copyOf(Sampling.permutation(n, random), Math.min(cfg.probes(), n));
        int[][] truth = NeighbourLeakage.trueNeighbours(x, probes, 10);
        NeighbourLeakage.Result nl = NeighbourLeakage.measure(
                new NeighbourLeakage.Store(x, p, null, z, cell), probes, truth, 10, Double.NaN);
        report.summary("prefix distances", "NN-overlap@10", Report.f(nl.prefixOverlap()), "");
        report.summary(
                "same-cell residuals",
                "NN-overlap@10 / true top-10 in own cell",
                Report.f(nl.sameCellOverlap()) + " / " + Report.f(nl.withinCellFraction()),
                "");
        report.summary(
                "prefix + same-cell residual", "NN-overlap@10 (ŝ from records)", Report.f(nl.combinedOverlap()), "");
        // residual anchors in an estimated frame: complement of the sample's top-d_pub axes
        Pca.Frame full = Pca.fit(sample, d);
        double[] resid = Arrays.copyOfRange(full.vectors(), dp * d, d * d);
        float[] basis = new float[d * d];
        for (int i = 0; i < resid.length; i++) {
            basis[dp * d + i] = (float) resid[i];
        }
        float[][] r = Vectors.storedResidualReference(Vectors.project(x, basis, d, dp, dr), residualNorm);
        AnchorAttack.Data data = new AnchorAttack.Data(r, z, cell, cells);
        int[] grid = java.util.stream.IntStream.of(100, 200, 288, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200)
                .filter(m -> m < n - 100)
                .toArray();
        AnchorAttack.Curve diffuse = AnchorAttack.diffuse(
                "diffuse, per-cell maps",
                data,
                true,
                grid,
                Math.min(cfg.victims(), n / 4),
                Math.min(cfg.gallery(), n),
                cfg.seed(),
                null,
                log);
        report.summary(
                "residual, diffuse",
                "m50 (per-cell Procrustes, estimated frame)",
                Report.m(diffuse.m50(), diffuse.maxAnchors()),
                "");
        AnchorAttack.Curve tgt = AnchorAttack.targeted(
                "targeted",
                data,
                new int[] {64, 128, 192, 256, 288, 320, 400},
                20,
                3,
                Math.min(cfg.gallery(), n),
                dr + 40,
                cfg.seed(),
                null,
                log);
        report.summary(
                "residual, targeted",
                "m50 (anchors in the victim's cell)",
                tgt == null ? "no cell large enough" : Report.m(tgt.m50(), tgt.maxAnchors()),
                "");
        writeReport(report, cfg, index, field, url, stored, n);
        return report;
    }

    private static void writeReport(
            Report report, LeakageAudit.Config cfg, String index, String field, String url, Stored stored, int n)
            throws IOException {
        report.text(
                "Index `%s`, field `%s` at %s: %d records, %d with a known plaintext. Attacks run with the storage tier's view only.",
                index, field, url, stored.ids().size(), n);
        report.write(
                cfg.outDir().resolve("report.md"),
                "encrypted-knn leakage audit (index " + index + ")",
                String.format(
                        Locale.ROOT,
                        "Generated by `org.encryptedknn.tools.audit.AuditTool --url` (%s).",
                        java.time.Instant.now()));
    }
}
