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
 * The text fields a gateway ingest processor writes encrypted: {@code encrypt_fields} (AES-GCM {@code ekr1:}, bound to
 * the concrete index written to) and {@code deterministic_fields} (AES-SIV {@code ekd1:}). A plaintext value in one of
 * them is always encrypted, never written as it is, whatever wrote it (a client, an earlier decrypting read); a value
 * that is not a string or an array of strings is a 400 naming the field.
 */
record TextFields(List<String> randomized, List<String> deterministic) {

    /** What happens to an {@code ekr1:} value already encrypted for some index, on its way to {@code index}. */
    interface Rebind {
        String apply(FieldCipher cipher, String value, String index);
    }

    static final Rebind KEEP = (cipher, value, index) -> value;

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
            Rebind rebind) {
        if (randomized.isEmpty() == false) {
            String index = gateway.concreteWriteIndex(
                    IngestSupport.metadata(document, IngestDocument.Metadata.INDEX.getFieldName()));
            for (String f : randomized) {
                FieldCipher cipher = lease.fieldCipher(f);
                map(
                        document,
                        f,
                        "encrypt_fields",
                        updates,
                        s -> cipher.encrypt(s, index),
                        s -> rebind.apply(cipher, s, index));
            }
        }
        for (String f : deterministic) {
            FieldCipher cipher = lease.fieldCipher(f);
            map(document, f, "deterministic_fields", updates, cipher::encryptDeterministic, UnaryOperator.identity());
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
