package org.encryptedknn.tools.audit;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import org.encryptedknn.client.cli.Options;

/**
 * CLI of the leakage audit.
 *
 * <pre>
 * AuditTool [--out DIR] [--limit N] [--queries Q] [--probes P] [--cells C] [--betas 0,0.25,0.5,0.75,1] [--beta B]
 *           [--pool N | --big-pool | --no-pool] [--pool-cells 1,64] [--victims V] [--gallery G] [--seed S] [--quiet]
 *           [--attacks cells,beta,norm,gram,versions,keyed-linking,rekey,partition,prefix-augment,repeats,anchors]
 *           [--linking-queries 10000] [--probe-cells 8]
 * AuditTool --url http://host:9200 --index NAME [--field embedding] [--id-offset 0] [--out DIR] ...
 * </pre>
 *
 * Without {@code --url}: the real corpus encrypted in-process with a fresh master key, plus the Gaussian pool for
 * the anchor experiments (default 50,000 documents; {@code --big-pool} = 200,000, needs ≈ 3 GB heap and a few more
 * minutes). {@code --attacks} runs only the named sections (all by default). With {@code --url}: the records stored in an index (see {@link IndexAudit}). Progress on stderr; the
 * report is {@code DIR/report.md} (default {@code target/audit}).
 */
public final class AuditTool {

    private AuditTool() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        if (Options.wantsHelp(args)) {
            usage();
            return;
        }
        Options o = Options.lenient("audit", args);
        LeakageAudit.Config d = LeakageAudit.Config.defaults();
        int pool = o.flag("--no-pool") ? 0 : o.flag("--big-pool") ? 200_000 : o.integer("--pool", d.poolSize());
        LeakageAudit.Config cfg = new LeakageAudit.Config(
                Path.of(o.get("--out", d.outDir().toString())),
                o.integer("--limit", d.corpusLimit()),
                o.integer("--queries", d.queries()),
                o.integer("--probes", d.probes()),
                o.integer("--cells", d.realCells()),
                doubles(o.get("--betas", null), d.betas()),
                o.number("--beta", d.defaultBeta()),
                pool,
                ints(o.get("--pool-cells", null), d.poolCells()),
                o.integer("--victims", d.victims()),
                o.integer("--gallery", d.gallery()),
                o.integer("--targeted-cells", d.targetedCells()),
                o.integer("--victims-per-cell", d.victimsPerCell()),
                o.integer("--linking-queries", d.linkingQueries()),
                o.integer("--probe-cells", d.probeCells()),
                attacks(o.get("--attacks", null), d.attacks()),
                Long.parseLong(o.get("--seed", Long.toString(d.seed()))));
        ProgressLog log = new ProgressLog(o.flag("--quiet"));
        Report report;
        String url = o.get("--url", null);
        if (url != null) {
            String index = o.get("--index", null);
            if (index == null) {
                usage();
                throw new IllegalArgumentException("--url needs --index");
            }
            report = IndexAudit.run(url, index, o.get("--field", "embedding"), o.integer("--id-offset", 0), cfg, log);
        } else {
            report = new LeakageAudit(cfg, log).run();
        }
        for (String[] r : report.summaryRows()) {
            System.out.printf(Locale.ROOT, "%-40s %-70s %s%n", r[0], r[1], r[2]);
        }
    }

    private static void usage() {
        System.err.println("""
            usage: AuditTool [--out DIR] [--limit N] [--queries Q] [--probes P] [--cells C] [--betas 0,0.25,0.5,0.75,1] [--beta B]
                             [--pool N | --big-pool | --no-pool] [--pool-cells 1,64] [--victims V] [--gallery G]
                             [--targeted-cells T] [--victims-per-cell V] [--seed S] [--quiet]
                             [--attacks cells,beta,norm,gram,versions,keyed-linking,rekey,partition,prefix-augment,repeats,anchors]
                             [--linking-queries 10000] [--probe-cells 8]
                   AuditTool --url http://host:9200 --index NAME [--field embedding] [--id-offset 0] [--out DIR] ...""");
    }

    static double[] doubles(String s, double[] def) {
        return s == null
                ? def
                : Arrays.stream(s.split(",")).mapToDouble(Double::parseDouble).toArray();
    }

    static Set<String> attacks(String s, Set<String> def) {
        return s == null ? def : new LinkedHashSet<>(Arrays.asList(s.split(",")));
    }

    static int[] ints(String s, int[] def) {
        return s == null
                ? def
                : Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
    }
}
