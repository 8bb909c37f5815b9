package org.encryptedknn.ingest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.keystore.ProcessorConfig;
import org.opensearch.ingest.ConfigurationUtils;
import org.opensearch.ingest.IngestDocument;

/**
 * The text fields a gateway ingest processor writes encrypted: {@code encrypt_fields} (AES-GCM {@code ekr2:}, bound to
 * the concrete index written to) and {@code deterministic_fields} (AES-SIV {@code ekd1:}). A plaintext value in one of
 * them is always encrypted, never written as it is, whatever wrote it (a client, an earlier decrypting read); a value
 * that carries our prefix but does not open under the field's key, or is not a string or an array of strings, is a 400
 * naming the field.
 */
record TextFields(List<String> randomized, List<String> deterministic) {

    /**
     * What happens to a randomized value ({@code ekr2:}, or {@code ekr1:} of format 1) on its way to {@code index}: it must open (a value that only looks
     * encrypted is plaintext, refused), and may be re-encrypted. Throws IllegalArgumentException when it does not open.
     */
    interface Rebind {
        String apply(FieldCipher cipher, String value, String index, String id);
    }

    /** The value stays as it is, once it opens for the index it is written to. */
    static final Rebind VERIFY = (cipher, value, index, id) -> {
        cipher.decrypt(value, index, id);
        return value;
    };

    /** Reads both lists; a text field is encrypted one way, and the vector {@code field} is not a text field. */
    static TextFields read(String type, String tag, Map<String, Object> config, String field) {
        List<String> randomized = ProcessorConfig.fieldNames(type, tag, config, "encrypt_fields");
        List<String> deterministic = ProcessorConfig.fieldNames(type, tag, config, "deterministic_fields");
        for (String f : randomized) {
            if (deterministic.contains(f)) {
                throw ConfigurationUtils.newConfigurationException(
                        type,
                        tag,
                        "deterministic_fields",
                        "field [" + f + "] is also in encrypt_fields; a field is encrypted one way");
            }
        }
        if (randomized.contains(field) || deterministic.contains(field)) {
            throw ConfigurationUtils.newConfigurationException(
                    type, tag, "field", "the vector field [" + field + "] cannot also be a text field");
        }
        return new TextFields(randomized, deterministic);
    }

    /** Puts the encrypted values of the configured fields present in {@code document} into {@code updates}. */
    void encrypt(
            IngestDocument document,
            NodeKeyHolder gateway,
            KeyLease lease,
            Map<String, Object> updates,
            String id,
            Rebind rebind) {
        if (randomized.isEmpty() && deterministic.isEmpty()) {
            return;
        }
        String index = gateway.concreteWriteIndex(
                IngestSupport.metadata(document, IngestDocument.Metadata.INDEX.getFieldName()));
        List<String> all = new ArrayList<>(randomized);
        all.addAll(deterministic);
        for (String f : all) {
            FieldCipher cipher = lease.fieldCipher(f);
            boolean isRandomized = randomized.contains(f);
            UnaryOperator<String> encrypt =
                    isRandomized ? s -> cipher.encrypt(s, index, id) : cipher::encryptDeterministic;
            Rebind onEncrypted = isRandomized ? rebind : VERIFY;
            String option = isRandomized ? "encrypt_fields" : "deterministic_fields";
            map(document, f, option, updates, encrypt, s -> opened(cipher, s, index, id, onEncrypted));
        }
    }

    /**
     * A value that carries one of our prefixes must open under the field's key (a randomized one through {@code rebind});
     * one that does not is plaintext that looks encrypted: a 400 naming the field.
     */
    private static String opened(FieldCipher cipher, String value, String index, String id, Rebind rebind) {
        try {
            if (FieldCipher.isRandomized(value)) {
                return rebind.apply(cipher, value, index, id);
            }
            cipher.decryptDeterministic(value);
            return value;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "field [" + cipher.field() + "] holds a value that looks encrypted but does not decrypt: "
                            + e.getMessage()
                            + " (a randomized value opens only for the index and _id it was encrypted for: copy"
                            + " encrypted documents between indices with the encrypted_knn_rekey processor's"
                            + " source_index)",
                    e);
        }
    }

    /** Maps a string or an array of strings: plaintext through {@code plain}, values encrypted by this plugin through {@code encrypted}. */
    private static void map(
            IngestDocument document,
            String f,
            String option,
            Map<String, Object> updates,
            UnaryOperator<String> plain,
            UnaryOperator<String> encrypted) {
        Object v = document.getFieldValue(f, Object.class, true);
        if (v == null) {
            return;
        }
        UnaryOperator<String> op = s -> FieldCipher.isEncrypted(s) ? encrypted.apply(s) : plain.apply(s);
        if (v instanceof String s) {
            updates.put(f, op.apply(s));
        } else if (v instanceof List<?> list) {
            List<String> out = new ArrayList<>(list.size());
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw new IllegalArgumentException(
                            "field [" + f + "] (in " + option + ") must be a string or an array of strings");
                }
                out.add(op.apply(s));
            }
            updates.put(f, out);
        } else {
            throw new IllegalArgumentException(
                    "field [" + f + "] (in " + option + ") must be a string or an array of strings");
        }
    }
}
