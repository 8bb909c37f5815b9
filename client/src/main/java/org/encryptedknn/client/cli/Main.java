package org.encryptedknn.client.cli;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.encryptedknn.client.OpenSearchHttp;

/**
 * The {@code encrypted-knn} command line (bin/encrypted-knn): client mode, where the master key and the model
 * never leave the machine that runs it.
 *
 * <pre>
 * encrypted-knn keygen  --out master.key
 * encrypted-knn fit     --key master.key --vectors sample.jsonl --out model.json [--model-id m1] [--cells 16] …
 * encrypted-knn mapping --model model.json [--encrypt-fields body] [--deterministic-fields sender]
 * encrypted-knn encrypt --key master.key --model model.json --input docs.jsonl --index mail --output bulk.ndjson …
 * encrypted-knn search  --key master.key --model model.json --url http://127.0.0.1:9200 --index mail --text "…"
 * encrypted-knn audit   [AuditTool options]                     (tools module: org.encryptedknn.tools.ToolsMain)
 * encrypted-knn bench   search|ckks|ckks-search|transform [options]
 * </pre>
 *
 * bin/encrypted-knn runs {@code org.encryptedknn.tools.ToolsMain}, which adds {@code audit} and {@code bench} to the
 * client commands of this class ({@link #run(Map, String[], PrintStream, PrintStream)}); the client module itself does
 * not depend on the tools.
 *
 * Every subcommand has {@code --help}. User errors (missing or malformed files, wrong key, refused requests) are one
 * line on stderr and exit code 1 (2 for usage errors); no stack traces.
 */
public final class Main {

    /** A subcommand: its one-line summary and its runner. */
    public interface Command {
        String summary();

        String usage();

        /** Runs with the arguments after the subcommand name; returns the exit code. */
        int run(String[] args, PrintStream out, PrintStream err) throws Exception;

        /** True when {@code --help} is the command's own business (it hands its arguments to another program). */
        default boolean handlesHelp() {
            return false;
        }
    }

    /** The client-mode commands, in the order of {@code --help}. */
    public static Map<String, Command> clientCommands() {
        Map<String, Command> commands = new LinkedHashMap<>();
        commands.put("keygen", new KeygenCommand());
        commands.put("fit", new FitCommand());
        commands.put("mapping", new MappingCommand());
        commands.put("encrypt", new EncryptCommand());
        commands.put("search", new SearchCommand());
        return commands;
    }

    private Main() {}

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command line; returns the exit code (0 = success). Never calls {@link System#exit}. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(clientCommands(), args, out, err);
    }

    /** Runs one command line with these commands; returns the exit code (0 = success). Never calls {@link System#exit}. */
    public static int run(Map<String, Command> commands, String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            if (args.length >= 2 && commands.containsKey(args[1])) {
                out.println(commands.get(args[1]).usage());
                return 0;
            }
            (args.length == 0 ? err : out).println(usage(commands));
            return args.length == 0 ? CliException.USAGE : 0;
        }
        String name = args[0];
        Command command = commands.get(name);
        if (command == null) {
            err.println("encrypted-knn: unknown command '" + name + "' (commands: "
                    + String.join(", ", commands.keySet()) + "; see encrypted-knn --help)");
            return CliException.USAGE;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (!command.handlesHelp() && Options.wantsHelp(rest)) {
            out.println(command.usage());
            return 0;
        }
        try {
            return command.run(rest, out, err);
        } catch (CliException e) {
            err.println("encrypted-knn " + name + ": error: " + Jsonl.oneLine(e.getMessage()));
            return e.exitCode();
        } catch (Throwable t) {
            String message = userMessage(t);
            if (message != null) {
                err.println("encrypted-knn " + name + ": error: " + Jsonl.oneLine(message));
                return CliException.FAILED;
            }
            err.println("encrypted-knn " + name + ": internal error (please report it with the trace below): " + t);
            t.printStackTrace(err);
            return 3;
        }
    }

    /** The one-line message of an exception that is the user's or the environment's doing, else null (a bug). */
    static String userMessage(Throwable t) {
        if (t instanceof OpenSearchHttp.ResponseException r) {
            return "the node answered " + r.status() + ": " + NodeErrors.reason(r.body());
        }
        if (t instanceof UncheckedIOException u) {
            Throwable cause = u.getCause();
            if (cause instanceof ConnectException || cause instanceof HttpConnectTimeoutException) {
                return "cannot connect to the node (" + u.getMessage().replaceFirst(" failed:.*", "")
                        + "): is it running, and is --url right?";
            }
            return u.getMessage();
        }
        if (t instanceof IllegalArgumentException) {
            return t.getMessage();
        }
        if (t instanceof OutOfMemoryError) {
            return "out of memory; give the JVM more heap (EKNN_JAVA_OPTS=-Xmx4g bin/encrypted-knn …)";
        }
        return null;
    }

    static String usage(Map<String, Command> commands) {
        StringBuilder b = new StringBuilder();
        b.append("usage: encrypted-knn <command> [options]      (encrypted-knn <command> --help for its options)\n\n");
        b.append(
                "Client mode: the master key and the model stay on this machine; the cluster only stores ciphertexts.\n\n");
        b.append("commands:\n");
        commands.forEach((n, c) -> b.append(String.format(java.util.Locale.ROOT, "  %-9s %s%n", n, c.summary())));
        b.append("\nA first session (docs/client-mode.md):\n");
        b.append("  encrypted-knn keygen  --out master.key\n");
        b.append("  encrypted-knn fit     --key master.key --vectors sample.jsonl --out model.json\n");
        b.append(
                "  encrypted-knn mapping --model model.json > index.json    # curl -XPUT host:9200/mail -d @index.json\n");
        b.append(
                "  encrypted-knn encrypt --key master.key --model model.json --input docs.jsonl --index mail --output bulk.ndjson\n");
        b.append(
                "  curl -H 'Content-Type: application/x-ndjson' --data-binary @bulk.ndjson 'http://127.0.0.1:9200/_bulk?refresh=true'\n");
        b.append("  encrypted-knn search  --key master.key --model model.json --index mail --text 'cheap flights'");
        return b.toString();
    }
}
