package org.encryptedknn.client.cli;

import static org.encryptedknn.client.cli.CliTestSupport.D;
import static org.encryptedknn.client.cli.CliTestSupport.array;
import static org.encryptedknn.client.cli.CliTestSupport.keyAndModel;
import static org.encryptedknn.client.cli.CliTestSupport.run;
import static org.encryptedknn.client.cli.CliTestSupport.vectors;
import static org.encryptedknn.client.cli.CliTestSupport.writeLines;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Every user error: one line on stderr naming what is wrong (and where), non-zero exit, no stack trace. */
public class MainErrorsTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private String[] encryptArgs(Path[] km, Path input) {
        return new String[] {
            "encrypt",
            "--key",
            km[0].toString(),
            "--model",
            km[1].toString(),
            "--input",
            input.toString(),
            "--index",
            "mail",
            "--id-field",
            "id",
            "--output",
            tmp.getRoot().toPath().resolve("out.ndjson").toString()
        };
    }

    private static String doc(String id, String vector) {
        return "{\"id\":\"" + id + "\",\"embedding\":" + vector + ",\"body\":\"hello\"}";
    }

    @Test
    public void missingKeyFile() throws Exception {
        Path[] km = keyAndModel(tmp.getRoot().toPath());
        Path missing = tmp.getRoot().toPath().resolve("nope.key");
        CliTestSupport.Result r = run(
                "search",
                "--key",
                missing.toString(),
                "--model",
                km[1].toString(),
                "--index",
                "mail",
                "--vector",
                array(vectors(1, 9)[0]));
        String line = r.assertOneLineError();
        assertEquals(1, r.code());
        assertTrue(line, line.contains("key file " + missing + " does not exist"));
    }

    @Test
    public void missingInputAndModelFiles() throws Exception {
        Path[] km = keyAndModel(tmp.getRoot().toPath());
        Path missing = tmp.getRoot().toPath().resolve("docs.jsonl");
        String line = run(encryptArgs(km, missing)).assertOneLineError();
        assertTrue(line, line.contains("input file " + missing + " does not exist"));

        Path noModel = tmp.getRoot().toPath().resolve("none.json");
        Path input = writeLines(tmp.getRoot().toPath().resolve("d.jsonl"), List.of(doc("a", array(vectors(1, 2)[0]))));
        line = run(
                        "encrypt",
                        "--key",
                        km[0].toString(),
                        "--model",
                        noModel.toString(),
                        "--input",
                        input.toString(),
                        "--index",
                        "mail")
                .assertOneLineError();
        assertTrue(line, line.contains("model file " + noModel + " does not exist"));

        Path noVectors = tmp.getRoot().toPath().resolve("sample-missing.jsonl");
        line = run(
                        "fit",
                        "--key",
                        km[0].toString(),
                        "--vectors",
                        noVectors.toString(),
                        "--out",
                        tmp.getRoot().toPath().resolve("m2.json").toString())
                .assertOneLineError();
        assertTrue(line, line.contains("vectors file " + noVectors + " does not exist"));
    }

    @Test
    public void malformedJsonlLine() throws Exception {
        Path[] km = keyAndModel(tmp.getRoot().toPath());
        float[][] v = vectors(3, 3);
        Path input = writeLines(
                tmp.getRoot().toPath().resolve("docs.jsonl"),
                List.of(
                        doc("a", array(v[0])),
                        "",
                        doc("b", array(v[1])),
                        "{\"id\":\"c\",\"embedding\":[1,2,",
                        doc("d", array(v[2]))));
        String line = run(encryptArgs(km, input)).assertOneLineError();
        assertTrue(line, line.contains(input + " line 4: malformed JSON"));
        assertFalse(
                "no partial output file", Files.exists(tmp.getRoot().toPath().resolve("out.ndjson")));

        Path sample =
                writeLines(tmp.getRoot().toPath().resolve("s.jsonl"), List.of(array(v[0]), array(v[1]) + " trailing"));
        line = run(
                        "fit",
                        "--key",
                        km[0].toString(),
                        "--vectors",
                        sample.toString(),
                        "--out",
                        tmp.getRoot().toPath().resolve("m3.json").toString(),
                        "--cells",
                        "1")
                .assertOneLineError();
        assertTrue(line, line.contains(sample + " line 2: malformed JSON"));

        Path notVector = writeLines(tmp.getRoot().toPath().resolve("s2.jsonl"), List.of(array(v[0]), "\"just text\""));
        line = run(
                        "fit",
                        "--key",
                        km[0].toString(),
                        "--vectors",
                        notVector.toString(),
                        "--out",
                        tmp.getRoot().toPath().resolve("m4.json").toString(),
                        "--cells",
                        "1")
                .assertOneLineError();
        assertTrue(line, line.contains(notVector + " line 2: expected a JSON array of numbers or an object"));
    }

    @Test
    public void wrongDimension() throws Exception {
        Path[] km = keyAndModel(tmp.getRoot().toPath());
        float[][] v = vectors(2, 4);
        Path input = writeLines(
                tmp.getRoot().toPath().resolve("docs.jsonl"),
                List.of(doc("a", array(v[0])), doc("b", array(Arrays.copyOf(v[1], D - 3)))));
        String line = run(encryptArgs(km, input)).assertOneLineError();
        assertTrue(line, line.contains(input + " line 2: field 'embedding' has " + (D - 3) + " values, expected " + D));

        // fit with --dimension: the vectors are checked against it
        Path sample = writeLines(tmp.getRoot().toPath().resolve("s.jsonl"), List.of(array(v[0]), array(v[1])));
        line = run(
                        "fit",
                        "--key",
                        km[0].toString(),
                        "--vectors",
                        sample.toString(),
                        "--out",
                        tmp.getRoot().toPath().resolve("m5.json").toString(),
                        "--dimension",
                        "16",
                        "--cells",
                        "1")
                .assertOneLineError();
        assertTrue(line, line.contains(sample + " line 1: the vector has " + D + " values, expected 16"));
        // a query vector of the wrong length
        line = run(
                        "search",
                        "--key",
                        km[0].toString(),
                        "--model",
                        km[1].toString(),
                        "--index",
                        "mail",
                        "--vector",
                        "[0.5, 0.25]")
                .assertOneLineError();
        assertTrue(line, line.contains("--vector has 2 values, expected " + D));
    }

    @Test
    public void nanAndNonNumbers() throws Exception {
        Path[] km = keyAndModel(tmp.getRoot().toPath());
        float[] v = vectors(1, 5)[0];
        String withNaN = array(v).replaceFirst(", [^,]+,", ", NaN,");
        Path input = writeLines(tmp.getRoot().toPath().resolve("docs.jsonl"), List.of(doc("a", withNaN)));
        String line = run(encryptArgs(km, input)).assertOneLineError();
        assertTrue(line, line.contains(input + " line 1: field 'embedding'[1] is NaN"));

        String withText = array(v).replaceFirst("\\[[^,]+,", "[\"x\",");
        input = writeLines(tmp.getRoot().toPath().resolve("docs2.jsonl"), List.of(doc("a", withText)));
        line = run(encryptArgs(km, input)).assertOneLineError();
        assertTrue(line, line.contains("line 1: field 'embedding'[0] is not a number (got a string)"));

        String withInf = array(v).replaceFirst(", [^,]+]$", ", -Infinity]");
        input = writeLines(tmp.getRoot().toPath().resolve("docs3.jsonl"), List.of(doc("a", withInf)));
        line = run(encryptArgs(km, input)).assertOneLineError();
        assertTrue(line, line.contains("line 1: field 'embedding'[" + (D - 1) + "] is infinite"));

        input = writeLines(
                tmp.getRoot().toPath().resolve("docs4.jsonl"), List.of("{\"id\":\"a\",\"vec\":" + array(v) + "}"));
        line = run(encryptArgs(km, input)).assertOneLineError();
        assertTrue(line, line.contains("line 1: no field 'embedding'"));
    }

    @Test
    public void wrongKey() throws Exception {
        Path[] km = keyAndModel(tmp.getRoot().toPath());
        Path other = tmp.getRoot().toPath().resolve("other.key");
        assertEquals(0, run("keygen", "--out", other.toString()).code());
        Path input =
                writeLines(tmp.getRoot().toPath().resolve("docs.jsonl"), List.of(doc("a", array(vectors(1, 6)[0]))));
        String line = run(
                        "encrypt",
                        "--key",
                        other.toString(),
                        "--model",
                        km[1].toString(),
                        "--input",
                        input.toString(),
                        "--index",
                        "mail")
                .assertOneLineError();
        assertTrue(line, line.contains("model file " + km[1] + " cannot be decrypted with key file " + other));

        Path notAKey = writeLines(tmp.getRoot().toPath().resolve("bad.key"), List.of("not base64 at all!"));
        line = run(
                        "encrypt",
                        "--key",
                        notAKey.toString(),
                        "--model",
                        km[1].toString(),
                        "--input",
                        input.toString(),
                        "--index",
                        "mail")
                .assertOneLineError();
        assertTrue(line, line.contains("key file " + notAKey + " does not hold a master key"));

        Path notAModel = writeLines(tmp.getRoot().toPath().resolve("bad-model.json"), List.of("{\"x\":1}"));
        line = run(
                        "encrypt",
                        "--key",
                        km[0].toString(),
                        "--model",
                        notAModel.toString(),
                        "--input",
                        input.toString(),
                        "--index",
                        "mail")
                .assertOneLineError();
        assertTrue(line, line.contains("model file " + notAModel + " is not a sealed model"));
    }

    @Test
    public void usageErrors() throws Exception {
        CliTestSupport.Result r = run("fit", "--nope", "1");
        assertEquals(2, r.code());
        assertTrue(r.assertOneLineError().contains("unknown option --nope"));
        r = run("encrypt", "--key", "k");
        assertEquals(2, r.code());
        assertTrue(r.assertOneLineError().contains("missing required option"));
        r = run("frobnicate");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown command 'frobnicate'"));
        r = run("fit", "--cells", "many", "--key", "k", "--vectors", "v", "--out", "o");
        assertEquals(2, r.code());
        assertTrue(r.assertOneLineError().contains("--cells must be an integer"));
        r = run("search", "--mode", "fast", "--key", "k", "--model", "m", "--index", "i", "--text", "x");
        assertEquals(2, r.code());
        assertTrue(r.assertOneLineError()
                .contains("--mode must be one of [key_holder], [ckks], [keyed_leaks_query_residuals]"));
        assertFalse(r.err().contains("fast")); // names the accepted values, never echoes the value
        r = run("search", "--mode", "keyed", "--key", "k", "--model", "m", "--index", "i", "--text", "x");
        assertEquals(2, r.code());
        assertTrue(r.assertOneLineError().contains("[keyed] was renamed [keyed_leaks_query_residuals]"));
    }

    /** --beta 0 and --cells 1 switch a protection off: only with --insecure. */
    @Test
    public void protectionsOffOnlyWithInsecure() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Path[] km = keyAndModel(dir); // writes dir/sample.jsonl
        List<String> fit = List.of(
                "fit",
                "--key",
                km[0].toString(),
                "--vectors",
                dir.resolve("sample.jsonl").toString());
        String[][] cases = {{"--beta", "0", "--beta = 0 disables the prefix noise"}, {"--cells", "1", "--cells = 1"}};
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(fit);
            args.addAll(List.of("--out", dir.resolve(c[0] + ".json").toString(), c[0], c[1]));
            String line = run(args.toArray(new String[0])).assertOneLineError();
            assertTrue(line, line.contains(c[2]) && line.contains("--insecure"));
            args.add("--insecure");
            CliTestSupport.Result ok = run(args.toArray(new String[0]));
            assertEquals(ok.toString(), 0, ok.code());
        }
    }

    @Test
    public void everyCommandHasHelp() {
        List<String> names = new ArrayList<>(Main.clientCommands().keySet());
        for (String name : names) {
            CliTestSupport.Result r = run(name, "--help");
            assertEquals(name, 0, r.code());
            assertTrue(name + ": " + r.out(), r.out().startsWith("usage: encrypted-knn " + name));
        }
        CliTestSupport.Result r = run("--help");
        assertEquals(0, r.code());
        for (String name : names) {
            assertTrue(r.out().contains("  " + name + " "));
        }
    }

    @Test
    public void unreachableNodeIsOneLine() throws Exception {
        Path[] km = keyAndModel(tmp.getRoot().toPath());
        String line = run(
                        "search",
                        "--key",
                        km[0].toString(),
                        "--model",
                        km[1].toString(),
                        "--index",
                        "mail",
                        "--url",
                        "http://127.0.0.1:1",
                        "--vector",
                        array(vectors(1, 7)[0]))
                .assertOneLineError();
        assertTrue(line, line.contains("cannot connect to the node"));
    }
}
