package org.encryptedknn.client.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * JSON Lines input: one JSON value per line (blank lines skipped), each error reported as
 * {@code FILE line N: what is wrong}. Plaintext vectors are either a bare array of numbers or an object holding
 * one in a named field. NaN and ±Infinity are read (Python's {@code json.dumps} writes them) so that they can be
 * refused by name rather than as malformed JSON. Error messages never echo vector values.
 */
final class Jsonl {

    /** Lenient about NaN/Infinity (refused later, by name), strict about anything after the value on a line. */
    static final ObjectMapper READER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    @FunctionalInterface
    interface LineHandler {
        /** @return false to stop reading */
        boolean line(JsonNode value, Where where) throws IOException;
    }

    /** A position in an input file, for messages. */
    record Where(String file, long line) {
        CliException error(String what) {
            return new CliException(this + ": " + what);
        }

        @Override
        public String toString() {
            return file + " line " + line;
        }
    }

    private Jsonl() {}

    /** Non-blank lines of the file (for progress bars); 0 for standard input. */
    static long countLines(Path file, String what) {
        if (isStdin(file)) {
            return 0;
        }
        checkReadable(file, what);
        try (var lines = Files.lines(file, StandardCharsets.ISO_8859_1)) {
            return lines.filter(l -> !l.isBlank()).count();
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getMessage());
        }
    }

    static boolean isStdin(Path file) {
        return file.toString().equals("-");
    }

    /** Fails with a one-line message when the file is missing, a directory or unreadable. */
    static void checkReadable(Path file, String what) {
        if (isStdin(file)) {
            return;
        }
        if (!Files.exists(file)) {
            throw new CliException(what + " " + file + " does not exist");
        }
        if (Files.isDirectory(file)) {
            throw new CliException(what + " " + file + " is a directory");
        }
        if (!Files.isReadable(file)) {
            throw new CliException(what + " " + file + " is not readable: permission denied");
        }
    }

    /** Calls {@code handler} with every non-blank line's JSON value, in order. */
    static void read(Path file, String what, LineHandler handler) {
        checkReadable(file, what);
        String name = isStdin(file) ? "<stdin>" : file.toString();
        try (InputStream in = isStdin(file) ? System.in : Files.newInputStream(file);
                BufferedReader reader = new BufferedReader(new InputStreamReader(
                        in,
                        StandardCharsets.UTF_8
                                .newDecoder()
                                .onMalformedInput(CodingErrorAction.REPORT)
                                .onUnmappableCharacter(CodingErrorAction.REPORT)))) {
            long n = 0;
            String line;
            while (true) {
                try {
                    line = reader.readLine();
                } catch (CharacterCodingException e) {
                    throw new Where(name, n + 1).error("not UTF-8 text");
                }
                if (line == null) {
                    return;
                }
                n++;
                if (line.isBlank()) {
                    continue;
                }
                Where where = new Where(name, n);
                JsonNode value;
                try {
                    value = READER.readTree(line);
                } catch (JsonProcessingException e) {
                    throw where.error("malformed JSON: " + oneLine(e.getOriginalMessage()));
                }
                if (!handler.line(value, where)) {
                    return;
                }
            }
        } catch (NoSuchFileException e) {
            throw new CliException(what + " " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new CliException(what + " " + file + " is not readable: permission denied");
        } catch (IOException e) {
            throw new CliException("cannot read " + what + " " + file + ": " + e.getMessage());
        } catch (UncheckedIOException e) {
            throw new CliException(
                    "cannot read " + what + " " + file + ": " + e.getCause().getMessage());
        }
    }

    /**
     * The plaintext vector of one line: the line itself when it is an array, else the object's {@code field}.
     *
     * @param dimension expected length, or -1 to accept any length ≥ 2
     */
    static float[] vector(JsonNode value, String field, int dimension, Where where) {
        JsonNode array;
        String name;
        if (value.isArray()) {
            array = value;
            name = "the vector";
        } else if (value.isObject()) {
            name = "field '" + field + "'";
            array = value.get(field);
            if (array == null) {
                throw where.error("no field '" + field + "' in this object (name the vector field with --field)");
            }
            if (!array.isArray()) {
                throw where.error(name + " must be an array of numbers, got " + kind(array));
            }
        } else {
            throw where.error(
                    "expected a JSON array of numbers or an object with a '" + field + "' array, got " + kind(value));
        }
        return floats(array, name, dimension, where);
    }

    /** Checks and converts an array of numbers (never echoing values in errors). */
    static float[] floats(JsonNode array, String name, int dimension, Where where) {
        int n = array.size();
        if (dimension > 0 && n != dimension) {
            throw where.error(name + " has " + n + " values, expected " + dimension + " (the model's dimension)");
        }
        if (dimension <= 0 && n < 2) {
            throw where.error(name + " has " + n + " values; a vector needs at least 2");
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            JsonNode x = array.get(i);
            if (!x.isNumber()) {
                throw where.error(name + "[" + i + "] is not a number (got " + kind(x) + ")");
            }
            double d = x.asDouble();
            if (Double.isNaN(d)) {
                throw where.error(name + "[" + i + "] is NaN");
            }
            if (Double.isInfinite(d)) {
                throw where.error(name + "[" + i + "] is infinite");
            }
            float f = (float) d;
            if (Float.isInfinite(f)) {
                throw where.error(name + "[" + i + "] is out of the float32 range");
            }
            out[i] = f;
        }
        return out;
    }

    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() > 200 ? t.substring(0, 200) + "…" : t;
    }
}
