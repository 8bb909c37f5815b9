package org.encryptedknn.tools;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.encryptedknn.client.cli.CliException;
import org.encryptedknn.client.cli.Main;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.tools.audit.AuditTool;
import org.encryptedknn.tools.bench.CkksBench;
import org.encryptedknn.tools.bench.CkksSearchBench;
import org.encryptedknn.tools.bench.ClusterBench;
import org.encryptedknn.tools.bench.DropInBench;
import org.encryptedknn.tools.bench.ScaleBench;
import org.encryptedknn.tools.bench.SearchBench;
import org.encryptedknn.tools.bench.TransformBench;
import org.encryptedknn.tools.bench.WindowCellsBench;

/**
 * The full {@code encrypted-knn} command line (bin/encrypted-knn): the client commands of {@link Main} plus
 * {@code audit} and {@code bench}, the tools' mains reachable from the one command. It lives here because the client
 * module does not depend on the tools.
 */
public final class ToolsMain {

    private ToolsMain() {}

    public static void main(String[] args) {
        Map<String, Main.Command> commands = Main.clientCommands();
        commands.put("audit", new Audit());
        commands.put("bench", new Bench());
        int code = Main.run(commands, args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    @FunctionalInterface
    interface MainMethod {
        void main(String[] args) throws Exception;
    }

    static final class Audit implements Main.Command {
        @Override
        public String summary() {
            return "leakage audit (org.encryptedknn.tools.audit.AuditTool; --help for its options)";
        }

        @Override
        public String usage() {
            return """
                usage: encrypted-knn audit [AuditTool options]

                Runs the leakage audit: what the storage tier can learn from the prefix (β), the cells, the
                residuals and re-keying, measured on the corpus encrypted in-process, or on an index's stored
                records with --url/--index. The report goes to --out (default target/audit/report.md).
                AuditTool's own options follow (on stderr).""";
        }

        @Override
        public boolean handlesHelp() {
            return true;
        }

        @Override
        public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
            if (Options.wantsHelp(args)) {
                out.println(usage());
                out.flush();
            }
            AuditTool.main(args);
            return 0;
        }
    }

    static final class Bench implements Main.Command {
        static final Map<String, MainMethod> BENCHES = new LinkedHashMap<>();

        static {
            BENCHES.put("search", SearchBench::main);
            BENCHES.put("ckks", CkksBench::main);
            BENCHES.put("ckks-search", CkksSearchBench::main);
            BENCHES.put("transform", TransformBench::main);
            BENCHES.put("drop-in", DropInBench::main);
            BENCHES.put("scale", ScaleBench::main);
            BENCHES.put("cluster", ClusterBench::main);
            BENCHES.put("window-cells", WindowCellsBench::main);
        }

        @Override
        public String summary() {
            return "benchmarks: search | ckks | ckks-search | transform | drop-in | scale | cluster | window-cells";
        }

        @Override
        public String usage() {
            return """
                usage: encrypted-knn bench <name> [options]

                  search        encrypted index vs plaintext opensearch-knn on a node: recall@10, latency, docs/s, size
                                (org.encryptedknn.tools.bench.SearchBench: [--url U] [--docs N] [--queries Q] [--k K] [--cells C] [--probe P] [--beta B])
                  ckks          CKKS scoring micro-benchmark, no node (org.encryptedknn.tools.bench.CkksBench)
                  ckks-search   ckks vs keyed vs plaintext on a node (org.encryptedknn.tools.bench.CkksSearchBench:
                                [--url U] [--docs N] [--queries Q] [--ks 40,100,200] [--cells C] [--probe P] [--hostile N])
                  transform     encryption throughput, no node (org.encryptedknn.tools.bench.TransformBench)
                  drop-in       the k-NN plugin's knn query (drop-in) vs encrypted_knn through a gateway pipeline, on a
                                node with the master key (org.encryptedknn.tools.bench.DropInBench: [--url U] [--docs N]
                                [--queries Q] [--k K] [--size S] [--rounds R])
                  scale         gateway mode vs plaintext k-NN at 10^5+ vectors, 1 and 8 clients, memory (ScaleBench;
                                scripts/scale-bench.sh starts its node: [--vectors N] [--corpus auto|real|matched] [--k K])
                  cluster       one shard vs two shards + replica, and a data node stopped mid-run (ClusterBench;
                                scripts/cluster-bench.sh starts its three nodes)
                  window-cells  cells a window touches and their keyed queries' cost, per cell jitter, no node
                                (WindowCellsBench: [--vectors N] [--k 100,300] [--jitters 4,2,1,0] [--training 2000])

                The options after <name> go to that benchmark unchanged.""";
        }

        @Override
        public boolean handlesHelp() {
            return true;
        }

        @Override
        public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
            if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
                (args.length == 0 ? err : out).println(usage());
                return args.length == 0 ? CliException.USAGE : 0;
            }
            MainMethod m = BENCHES.get(args[0]);
            if (m == null) {
                throw CliException.usage(
                        "unknown benchmark '" + args[0] + "' (one of " + String.join(", ", BENCHES.keySet()) + ")");
            }
            m.main(Arrays.copyOfRange(args, 1, args.length));
            return 0;
        }
    }
}
