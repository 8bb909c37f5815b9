package org.encryptedknn.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordForm;
import org.encryptedknn.transform.VectorTransform;

/**
 * Client-mode encryption of whole JSON documents, the key-holder twin of the gateway's {@code encrypted_knn} ingest
 * processor (same output, so an index can be written by either):
 * <ul>
 *   <li>the vector field (an array of d numbers) is replaced by the encrypted object {@code {p,n,s,e}} (sealed, the
 *       default {@link RecordForm}) or {@code {p,n,c,z,e}} (keyed); its SAP nonce is PRF(document id, field, epoch,
 *       vector): a record always encrypts to the same ciphertext within an epoch, a changed vector gets fresh
 *       noise;</li>
 *   <li>the {@code encryptFields} (strings or arrays of strings) are AES-256-GCM encrypted with (index, document id,
 *       field) as associated data, as the ingest processor does, so the gateway's {@code encrypted_knn_rerank} can
 *       decrypt them and a value moved to another document does not decrypt;</li>
 *   <li>the {@code deterministicFields} are AES-SIV encrypted: equal values give equal ciphertexts, so exact-match
 *       {@code term} filters work ({@link #deterministic}) — and the storage tier sees equality and frequency.</li>
 * </ul>
 * Values already encrypted by this project pass unchanged. Thread-safe; close it to zero the field keys.
 */
public final class DocumentCipher implements AutoCloseable {

    private final VectorTransform transform;
    private final String vectorField;
    private final String index;
    private final RecordForm recordForm;
    private final Map<String, FieldCipher> randomized = new LinkedHashMap<>();
    private final Map<String, FieldCipher> deterministic = new LinkedHashMap<>();

    /** A cipher writing records of the default form ({@link RecordForm#DEFAULT}: sealed). */
    public DocumentCipher(
            VectorTransform transform,
            KeyDerivation keys,
            String vectorField,
            String index,
            List<String> encryptFields,
            List<String> deterministicFields) {
        this(transform, keys, vectorField, index, encryptFields, deterministicFields, RecordForm.DEFAULT);
    }

    /**
     * @param index      the index the documents go to: associated data of the randomized field ciphertexts (a
     *                   ciphertext copied into another index does not decrypt there)
     * @param recordForm the records written: keyed (every search mode) or sealed (key holder scoring only)
     */
    public DocumentCipher(
            VectorTransform transform,
            KeyDerivation keys,
            String vectorField,
            String index,
            List<String> encryptFields,
            List<String> deterministicFields,
            RecordForm recordForm) {
        this.transform = transform;
        this.vectorField = vectorField;
        this.index = index;
        this.recordForm = java.util.Objects.requireNonNull(recordForm, "record form");
        for (String f : encryptFields) {
            if (f.equals(vectorField) || deterministicFields.contains(f)) {
                throw new IllegalArgumentException("field '" + f
                        + "' is listed twice (vector field, encrypted and deterministic fields must differ)");
            }
            randomized.put(f, new FieldCipher(keys, f));
        }
        for (String f : deterministicFields) {
            if (f.equals(vectorField)) {
                throw new IllegalArgumentException(
                        "field '" + f + "' is the vector field; it cannot also be a deterministic field");
            }
            deterministic.put(f, new FieldCipher(keys, f));
        }
    }

    public String vectorField() {
        return vectorField;
    }

    public String index() {
        return index;
    }

    /**
     * Encrypts {@code doc} in place and returns it. {@code vector} is the plaintext vector read from the document's
     * vector field by the caller (who checked dimension and finiteness); {@code id} is the {@code _id} the document
     * will be indexed under (assign one, e.g. a random UUID, if the application has none).
     */
    public ObjectNode encrypt(ObjectNode doc, float[] vector, String id) {
        java.util.Objects.requireNonNull(id, "document id (assign one before encrypting)");
        Map<String, JsonNode> updates = new LinkedHashMap<>();
        for (Map.Entry<String, FieldCipher> e : randomized.entrySet()) {
            FieldCipher c = e.getValue();
            text(doc, e.getKey(), "encrypted", updates, s -> c.encrypt(s, index, id));
        }
        for (Map.Entry<String, FieldCipher> e : deterministic.entrySet()) {
            FieldCipher c = e.getValue();
            text(doc, e.getKey(), "deterministic", updates, c::encryptDeterministic);
        }
        EncryptedVector v = transform.encryptDocument(vector, id, vectorField, recordForm);
        updates.put(vectorField, EncryptedSearch.recordJson(v));
        updates.forEach(doc::set);
        return doc;
    }

    /** The deterministic ciphertext of {@code value} for a {@code term} filter on a deterministic field. */
    public String deterministic(String field, String value) {
        FieldCipher c = deterministic.get(field);
        if (c == null) {
            throw new IllegalArgumentException("field '" + field + "' is not a deterministic field");
        }
        return c.encryptDeterministic(value);
    }

    /**
     * The listed fields of a hit's {@code _source}, decrypted (randomized or deterministic, whichever the value is);
     * {@code hitIndex} and {@code hitId} are the hit's {@code _index} and {@code _id}. Missing fields are left out; values not encrypted by this project
     * are returned as they are.
     */
    public static Map<String, String> decryptFields(
            KeyDerivation keys, JsonNode source, String hitIndex, String hitId, List<String> fields) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String f : fields) {
            JsonNode v = source.path(f);
            if (v.isMissingNode() || v.isNull()) {
                continue;
            }
            try (FieldCipher c = new FieldCipher(keys, f)) {
                if (v.isArray()) {
                    List<String> parts = new ArrayList<>();
                    v.forEach(x -> parts.add(decryptOne(c, x.asText(), hitIndex, hitId)));
                    out.put(f, String.join(", ", parts));
                } else {
                    out.put(f, decryptOne(c, v.asText(), hitIndex, hitId));
                }
            }
        }
        return out;
    }

    private static String decryptOne(FieldCipher c, String value, String hitIndex, String hitId) {
        if (FieldCipher.isRandomized(value)) {
            return c.decrypt(value, hitIndex, hitId);
        }
        if (value.startsWith(FieldCipher.DETERMINISTIC_PREFIX)) {
            return c.decryptDeterministic(value);
        }
        return value;
    }

    private static void text(
            ObjectNode doc,
            String field,
            String kind,
            Map<String, JsonNode> updates,
            java.util.function.UnaryOperator<String> op) {
        JsonNode v = doc.get(field);
        if (v == null || v.isNull()) {
            return;
        }
        if (v.isTextual()) {
            updates.put(field, new TextNode(FieldCipher.isEncrypted(v.asText()) ? v.asText() : op.apply(v.asText())));
        } else if (v.isArray()) {
            ArrayNode out = OpenSearchHttp.JSON.createArrayNode();
            for (JsonNode x : v) {
                if (!x.isTextual()) {
                    throw new IllegalArgumentException(
                            "field '" + field + "' (" + kind + ") must be a string or an array of strings");
                }
                out.add(FieldCipher.isEncrypted(x.asText()) ? x.asText() : op.apply(x.asText()));
            }
            updates.put(field, out);
        } else {
            throw new IllegalArgumentException(
                    "field '" + field + "' (" + kind + ") must be a string or an array of strings, got "
                            + v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT));
        }
    }

    @Override
    public void close() {
        randomized.values().forEach(FieldCipher::close);
        deterministic.values().forEach(FieldCipher::close);
    }

    @Override
    public String toString() {
        return "DocumentCipher[" + vectorField + " -> " + index + ", encrypted " + randomized.keySet()
                + ", deterministic " + deterministic.keySet() + "]";
    }
}
