package org.encryptedknn.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import org.encryptedknn.client.DocumentCipher;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.corpus.ProgressBar;
import org.encryptedknn.transform.RecordForm;

/**
 * {@code encrypted-knn encrypt}: JSON Lines documents in, bulk NDJSON out, with the vector field replaced by its
 * encrypted object and the chosen text fields encrypted (see {@link DocumentCipher}).
 */
final class EncryptCommand implements Main.Command {

    @Override
    public String summary() {
        return "encrypt JSON Lines documents into a _bulk NDJSON file (vector -> {p,n,c,z,e}, text fields AES)";
    }

    @Override
    public String usage() {
        return """
            usage: encrypted-knn encrypt --key FILE --model FILE --input FILE --index NAME [options]

            Reads documents (JSON Lines: one JSON object per line) and writes a _bulk NDJSON body: an action line
            {"index":{"_index":NAME,"_id":ID}} and the encrypted document for each. The vector field is replaced by
            the encrypted object {"p":[…],"n":"…","c":7,"z":"…","e":1}; other fields pass unchanged unless listed.

              --key FILE                   master key file
              --model FILE                 sealed model file (encrypted-knn fit)
              --input FILE                 documents, JSON Lines ('-' = standard input)
              --index NAME                 target index (action lines; associated data of --encrypt-fields)
              --output FILE                NDJSON to write (default: standard output); written atomically
              --field NAME                 vector field (default embedding)
              --record-form sealed|keyed   sealed (default): {p,n,s,e}, the vector under AES-256-GCM, scored by
                                           the key holder only; keyed: {p,n,c,z,e}, which the ckks and keyed
                                           search modes need (z keeps the within-cell inner products)
              --id-field NAME              document field holding the id: used as _id; the SAP nonce and the text
                                           fields' associated data bind it (re-encrypting a document gives the same
                                           ciphertext). Without it, each document gets a random UUID as _id.
              --encrypt-fields A,B         AES-256-GCM (randomized; reveals the length only)
              --deterministic-fields C,D   AES-SIV (deterministic: exact-match filters work, and the storage tier
                                           sees which documents share a value and how often: equality and frequency)
              --force                      replace an existing --output file

            Then:  curl -H 'Content-Type: application/x-ndjson' --data-binary @bulk.ndjson 'http://127.0.0.1:9200/_bulk'""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        Options o = new Options(
                "encrypt",
                args,
                Set.of(
                        "--key",
                        "--model",
                        "--input",
                        "--index",
                        "--output",
                        "--field",
                        "--record-form",
                        "--id-field",
                        "--encrypt-fields",
                        "--deterministic-fields"),
                Set.of("--force"));
        o.noPositional();
        Path input = o.path("--input");
        String index = o.required("--index");
        checkIndexName(index);
        String field = o.get("--field", "embedding");
        String idField = o.get("--id-field", null);
        RecordForm recordForm;
        try {
            recordForm = RecordForm.parse(o.get("--record-form", RecordForm.DEFAULT.wireName()), "--record-form");
        } catch (IllegalArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        Path output = o.has("--output") ? o.path("--output") : null;
        if (output != null && Files.exists(output) && !o.flag("--force")) {
            throw new CliException("output file " + output + " already exists; choose another file or pass --force");
        }
        Jsonl.checkReadable(input, "input file");
        if (output != null
                && output.toAbsolutePath()
                        .normalize()
                        .equals(input.toAbsolutePath().normalize())) {
            throw CliException.usage("--output must differ from --input");
        }

        try (KeyMaterial km = KeyMaterial.open(o, err);
                DocumentCipher cipher = new DocumentCipher(
                        km.transform,
                        km.keys,
                        field,
                        index,
                        o.list("--encrypt-fields"),
                        o.list("--deterministic-fields"),
                        recordForm)) {
            int d = km.dimension();
            long total = Jsonl.countLines(input, "input file");
            Path tmp = output == null
                    ? null
                    : Files.createTempFile(output.toAbsolutePath().getParent(), output.getFileName() + ".tmp-", "");
            long[] count = {0};
            try (Writer w = new BufferedWriter(
                            new OutputStreamWriter(
                                    tmp == null ? unclosable(out) : Files.newOutputStream(tmp), StandardCharsets.UTF_8),
                            1 << 16);
                    ProgressBar bar = new ProgressBar("encrypting", FitCommand.progressTotal(total))) {
                Jsonl.read(input, "input file", (value, where) -> {
                    if (!value.isObject()) {
                        throw where.error("expected a JSON object (one document per line), got " + Jsonl.kind(value));
                    }
                    ObjectNode doc = (ObjectNode) value;
                    // the id is bound into the nonce and the text fields' associated data, so every document has one
                    String id = idField == null ? java.util.UUID.randomUUID().toString() : id(doc, idField, where);
                    JsonNode vectorNode = doc.get(field);
                    if (vectorNode == null) {
                        throw where.error(
                                "no field '" + field + "' in this document (name the vector field with --field)");
                    }
                    if (vectorNode.isObject() && vectorNode.has("p") && vectorNode.has("z")) {
                        throw where.error("field '" + field + "' is already encrypted");
                    }
                    if (!vectorNode.isArray()) {
                        throw where.error("field '" + field + "' must be an array of " + d + " numbers, got "
                                + Jsonl.kind(vectorNode));
                    }
                    float[] vector = Jsonl.floats(vectorNode, "field '" + field + "'", d, where);
                    try {
                        cipher.encrypt(doc, vector, id);
                    } catch (IllegalArgumentException e) {
                        throw where.error(e.getMessage());
                    } finally {
                        Arrays.fill(vector, 0f);
                    }
                    ObjectNode action = OpenSearchHttp.JSON.createObjectNode();
                    ObjectNode meta = action.putObject("index");
                    meta.put("_index", index);
                    meta.put("_id", id);
                    w.write(action.toString());
                    w.write('\n');
                    w.write(OpenSearchHttp.JSON.writeValueAsString(doc));
                    w.write('\n');
                    count[0]++;
                    bar.step(1);
                    return true;
                });
                w.flush();
            } catch (RuntimeException | IOException e) {
                if (tmp != null) {
                    Files.deleteIfExists(tmp);
                }
                throw e;
            }
            if (tmp != null) {
                try {
                    Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Files.deleteIfExists(tmp);
                    throw new UncheckedIOException("cannot write " + output + ": " + e.getMessage(), e);
                }
            }
            err.printf(
                    Locale.ROOT,
                    "encrypted %d documents for index '%s' with model '%s' (epoch %d)%s%n",
                    count[0],
                    index,
                    km.model.id(),
                    km.model.epoch(),
                    output == null ? "" : " -> " + output);
            if (idField == null) {
                err.println(
                        "note: no --id-field: each document got a random UUID as _id (re-encrypting gives new ids)");
            }
        }
        return 0;
    }

    private static String id(ObjectNode doc, String idField, Jsonl.Where where) {
        JsonNode v = doc.get(idField);
        if (v == null || v.isNull()) {
            throw where.error("no id field '" + idField + "' in this document");
        }
        if (!(v.isTextual() || v.isIntegralNumber())) {
            throw where.error("id field '" + idField + "' must be a string or an integer, got " + Jsonl.kind(v));
        }
        String id = v.asText();
        if (id.isEmpty() || id.getBytes(StandardCharsets.UTF_8).length > 512) {
            throw where.error("id field '" + idField + "' must be 1 to 512 bytes long");
        }
        return id;
    }

    /** Standard output must stay open after the command. */
    private static java.io.OutputStream unclosable(PrintStream target) {
        return new java.io.FilterOutputStream(target) {
            @Override
            public void write(byte[] b, int off, int len) {
                target.write(b, off, len);
            }

            @Override
            public void close() {
                target.flush();
            }
        };
    }

    static void checkIndexName(String index) {
        if (index.isEmpty()
                || index.startsWith("_")
                || index.startsWith("-")
                || !index.equals(index.toLowerCase(Locale.ROOT))
                || index.chars().anyMatch(c -> " \"*\\<|,>/?#:".indexOf(c) >= 0)) {
            throw CliException.usage(
                    "--index '" + index
                            + "' is not a valid index name (lower case, no spaces or \" * \\ < | , > / ? # :, not starting with _ or -)");
        }
    }
}
