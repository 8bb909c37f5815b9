package org.encryptedknn.client.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import org.encryptedknn.client.Indices;
import org.encryptedknn.client.ModelFiles;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.model.ModelMetadata;

/** {@code encrypted-knn mapping}: the create-index body for a model (needs no key: only public parameters). */
final class MappingCommand implements Main.Command {

    @Override
    public String summary() {
        return "print the create-index body (settings + mapping) for a model file";
    }

    @Override
    public String usage() {
        return """
            usage: encrypted-knn mapping --model FILE [options]

            Prints the body of a create-index request for documents written by 'encrypted-knn encrypt': the
            encrypted_knn_vector field with the model's public parameters, randomized-encrypted text fields as
            stored-only keywords, deterministic fields as keywords (exact-match filters work on their ciphertexts).
            Reads only the public part of the model file: no key needed.

              --model FILE                 sealed model file (encrypted-knn fit)
              --field NAME                 vector field (default embedding)
              --encrypt-fields A,B         fields that 'encrypt' AES-GCM-encrypts (mapped keyword, not indexed)
              --deterministic-fields C,D   fields that 'encrypt' AES-SIV-encrypts (mapped keyword, indexed)
              --m M                        HNSW links per node (default 16)
              --ef-construction E          HNSW build beam (default 100)

            Then:  curl -XPUT -H 'Content-Type: application/json' http://127.0.0.1:9200/INDEX --data-binary @index.json""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Options o = new Options(
                "mapping",
                args,
                Set.of("--model", "--field", "--encrypt-fields", "--deterministic-fields", "--m", "--ef-construction"),
                Set.of());
        o.noPositional();
        ModelMetadata meta = ModelFiles.readMetadata(o.path("--model"));
        Indices.Hnsw hnsw = new Indices.Hnsw(
                o.integer("--m", Indices.Hnsw.DEFAULT.m(), 2, 512),
                o.integer("--ef-construction", Indices.Hnsw.DEFAULT.efConstruction(), 2, 10_000));
        out.println(body(
                        meta,
                        o.get("--field", "embedding"),
                        o.list("--encrypt-fields"),
                        o.list("--deterministic-fields"),
                        hnsw)
                .toPrettyString());
        return 0;
    }

    /** Settings {@code index.encrypted_knn: true} (shards, replicas and refresh left to the cluster's defaults). */
    static ObjectNode body(
            ModelMetadata meta, String field, List<String> encrypted, List<String> deterministic, Indices.Hnsw hnsw) {
        ObjectNode body = Indices.encryptedIndexBody(field, meta, hnsw);
        ObjectNode settings = OpenSearchHttp.JSON.createObjectNode();
        settings.put("index.encrypted_knn", true);
        body.set("settings", settings);
        ObjectNode properties = Indices.properties(body);
        for (String f : encrypted) {
            properties.putObject(f).put("type", "keyword").put("index", false).put("doc_values", false);
        }
        for (String f : deterministic) {
            properties.putObject(f).put("type", "keyword");
        }
        return body;
    }
}
