package org.encryptedknn.client.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/** Runs {@link Main#run} with captured output; synthetic vectors and documents. */
final class CliTestSupport {

    static final int D = 32;
    static final int CELLS = 4;

    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.isBlank() ? List.of() : List.of(err.strip().split("\n"));
        }

        /** Exactly one line on stderr, naming the command, no stack trace; non-zero exit. */
        String assertOneLineError() {
            assertNotEquals("exit code: " + this, 0, code);
            assertEquals("stderr must be one line: " + err, 1, errLines().size());
            String line = errLines().get(0);
            assertTrue(line, line.startsWith("encrypted-knn ") && line.contains("error: "));
            assertFalse(line, line.contains("Exception") || line.contains("\tat "));
            return line;
        }
    }

    private CliTestSupport() {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, o, e);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static float[][] vectors(int n, long seed) {
        Random r = new Random(seed);
        float[][] v = new float[n][D];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < D; j++) {
                v[i][j] = (float) r.nextGaussian();
            }
        }
        return v;
    }

    static String array(float[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.9f", v[i]));
        }
        return b.append(']').toString();
    }

    static Path writeLines(Path file, List<String> lines) throws IOException {
        Files.write(file, lines, StandardCharsets.UTF_8);
        return file;
    }

    /** keygen + fit in {@code dir}: returns {key, model}. */
    static Path[] keyAndModel(Path dir) throws IOException {
        Path key = dir.resolve("master.key");
        Path model = dir.resolve("model.json");
        List<String> lines = new ArrayList<>();
        for (float[] v : vectors(200, 1)) {
            lines.add(array(v));
        }
        Path sample = writeLines(dir.resolve("sample.jsonl"), lines);
        assertEquals(0, run("keygen", "--out", key.toString()).code());
        Result fit = run(
                "fit",
                "--key",
                key.toString(),
                "--vectors",
                sample.toString(),
                "--out",
                model.toString(),
                "--cells",
                Integer.toString(CELLS),
                "--model-id",
                "t1");
        assertEquals(fit.toString(), 0, fit.code());
        return new Path[] {key, model};
    }
}
