package org.encryptedknn.client.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --name value} and {@code --flag} options of one subcommand, checked against what the subcommand accepts:
 * an unknown option, a missing value or a missing required option is a usage error naming it.
 */
public final class Options {

    private final String command;
    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    /**
     * @param valued options that take a value (e.g. "--key")
     * @param flags  options without a value (e.g. "--force")
     */
    public Options(String command, String[] args, Set<String> valued, Set<String> flags) {
        this.command = command;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--") && a.length() > 2) {
                String name = a;
                String value = null;
                int eq = a.indexOf('=');
                if (eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                if (flags.contains(name)) {
                    if (value != null) {
                        throw CliException.usage("option " + name + " takes no value" + seeHelp());
                    }
                    values.put(name, "true");
                } else if (valued.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw CliException.usage("option " + name + " needs a value" + seeHelp());
                        }
                        value = args[++i];
                    }
                    if (values.containsKey(name)) {
                        throw CliException.usage("option " + name + " is given twice" + seeHelp());
                    }
                    values.put(name, value);
                } else {
                    throw CliException.usage("unknown option " + name + seeHelp());
                }
            } else {
                positional.add(a);
            }
        }
    }

    /**
     * For the tools (benchmarks, the audit, the reliability scenarios), whose options are many and documented in their
     * usage text rather than declared: a {@code --name} followed by a value takes it, a {@code --name} followed by
     * another option or by nothing is a flag. Values are read and checked as for the commands.
     */
    public static Options lenient(String command, String[] args) {
        Set<String> valued = new HashSet<>();
        Set<String> flags = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--") && a.length() > 2) {
                int eq = a.indexOf('=');
                if (eq > 0) {
                    valued.add(a.substring(0, eq));
                } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                    valued.add(a);
                    i++;
                } else {
                    flags.add(a);
                }
            }
        }
        flags.removeAll(valued);
        return new Options(command, args, valued, flags);
    }

    public static boolean wantsHelp(String[] args) {
        return Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h");
    }

    String seeHelp() {
        return " (see: encrypted-knn " + command + " --help)";
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    public boolean flag(String name) {
        return values.containsKey(name);
    }

    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    String required(String name) {
        String v = values.get(name);
        if (v == null || v.isEmpty()) {
            throw CliException.usage("missing required option " + name + seeHelp());
        }
        return v;
    }

    Path path(String name) {
        return Path.of(required(name));
    }

    public int integer(String name, int fallback, int min, int max) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw CliException.usage("option " + name + " must be an integer, got '" + v + "'");
        }
        if (n < min || n > max) {
            throw CliException.usage("option " + name + " must be in [" + min + ", " + max + "], got " + n);
        }
        return n;
    }

    /** An integer option without a range of its own. */
    public int integer(String name, int fallback) {
        return integer(name, fallback, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    Integer optionalInteger(String name, int min, int max) {
        return has(name) ? integer(name, 0, min, max) : null;
    }

    public double number(String name, double fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            double d = Double.parseDouble(v.trim());
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw CliException.usage("option " + name + " must be a finite number, got '" + v + "'");
        }
    }

    /** A comma-separated list (empty when the option is absent). */
    public List<String> list(String name) {
        String v = values.get(name);
        if (v == null || v.isBlank()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    public List<String> positional() {
        return positional;
    }

    void noPositional() {
        if (!positional.isEmpty()) {
            throw CliException.usage("unexpected argument '" + positional.get(0) + "'" + seeHelp());
        }
    }
}
