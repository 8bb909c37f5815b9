package org.encryptedknn.tools.audit;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * CLI of the leakage audit.
 *
 * <pre>
 * AuditTool [--out DIR] [--limit N] [--queries Q] [--probes P] [--cells C] [--betas 0,0.25,0.5,0.75,1] [--beta B]
 *           [--pool N | --big-pool | --no-pool] [--pool-cells 1,64] [--victims V] [--gallery G] [--seed S] [--quiet]
 *           [--attacks cells,beta,norm,gram,versions,keyed-linking,rekey,repeats,anchors]
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
        if (has(args, "-h") || has(args, "--help")) {
            usage();
            return;
        }
        LeakageAudit.Config d = LeakageAudit.Config.defaults();
        int pool =
                has(args, "--no-pool") ? 0 : has(args, "--big-pool") ? 200_000 : intOpt(args, "--pool", d.poolSize());
        LeakageAudit.Config cfg = new LeakageAudit.Config(
                Path.of(opt(args, "--out", d.outDir().toString())),
                intOpt(args, "--limit", d.corpusLimit()),
                intOpt(args, "--queries", d.queries()),
                intOpt(args, "--probes", d.probes()),
                intOpt(args, "--cells", d.realCells()),
                doubles(opt(args, "--betas", null), d.betas()),
                Double.parseDouble(opt(args, "--beta", Double.toString(d.defaultBeta()))),
                pool,
                ints(opt(args, "--pool-cells", null), d.poolCells()),
                intOpt(args, "--victims", d.victims()),
                intOpt(args, "--gallery", d.gallery()),
                intOpt(args, "--targeted-cells", d.targetedCells()),
                intOpt(args, "--victims-per-cell", d.victimsPerCell()),
                intOpt(args, "--linking-queries", d.linkingQueries()),
                intOpt(args, "--probe-cells", d.probeCells()),
                attacks(opt(args, "--attacks", null), d.attacks()),
                Long.parseLong(opt(args, "--seed", Long.toString(d.seed()))));
        ProgressLog log = new ProgressLog(has(args, "--quiet"));
        Report report;
        String url = opt(args, "--url", null);
        if (url != null) {
            String index = opt(args, "--index", null);
            if (index == null) {
                usage();
                throw new IllegalArgumentException("--url needs --index");
            }
            report = IndexAudit.run(
                    url, index, opt(args, "--field", "embedding"), intOpt(args, "--id-offset", 0), cfg, log);
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
                             [--attacks cells,beta,norm,gram,versions,keyed-linking,rekey,repeats,anchors]
                             [--linking-queries 10000] [--probe-cells 8]
                   AuditTool --url http://host:9200 --index NAME [--field embedding] [--id-offset 0] [--out DIR] ...""");
    }

    static boolean has(String[] args, String name) {
        return Arrays.asList(args).contains(name);
    }

    static String opt(String[] args, String name, String def) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return def;
    }

    static int intOpt(String[] args, String name, int def) {
        return Integer.parseInt(opt(args, name, Integer.toString(def)));
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
