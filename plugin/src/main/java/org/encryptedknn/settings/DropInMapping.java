package org.encryptedknn.settings;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which fields of an index that opted in with {@code index.encrypted_knn.model_id} hold encrypted vectors, read from
 * its mapping source (the ingest side encrypts them, the search side answers {@code knn} on them).
 */
public final class DropInMapping {

    /** The field type of the mapper (mapper.EncryptedKnnVectorFieldMapper.CONTENT_TYPE; named here, the lower package). */
    public static final String ENCRYPTED_TYPE = "encrypted_knn_vector";
    /** The k-NN plugin's field type, which the opt-in turns into {@link #ENCRYPTED_TYPE}. */
    public static final String KNN_VECTOR_TYPE = "knn_vector";

    private DropInMapping() {}

    /**
     * Full field path → model id of every vector field: an {@code encrypted_knn_vector} under its own
     * {@code model_id}, a {@code knn_vector} under the opt-in model (it becomes encrypted when the index is created).
     * Accepts mappings with or without the {@code _doc} wrapper.
     */
    public static Map<String, String> vectorFields(List<Map<String, Object>> mappings, String dropInModel) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map<String, Object> mapping : mappings) {
            Object root = mapping.get("_doc") instanceof Map<?, ?> doc ? doc : mapping;
            if (root instanceof Map<?, ?> r) {
                collect(r.get("properties"), "", dropInModel, out);
            }
        }
        return out;
    }

    private static void collect(Object properties, String prefix, String dropInModel, Map<String, String> out) {
        if (!(properties instanceof Map<?, ?> props)) {
            return;
        }
        for (Map.Entry<?, ?> e : props.entrySet()) {
            if (!(e.getValue() instanceof Map<?, ?> field)) {
                continue;
            }
            String path = prefix + e.getKey();
            Object type = field.get("type");
            if (ENCRYPTED_TYPE.equals(type)) {
                out.put(path, field.get("model_id") instanceof String m ? m : dropInModel);
            } else if (KNN_VECTOR_TYPE.equals(type)) {
                out.put(path, dropInModel);
            } else {
                collect(field.get("properties"), path + ".", dropInModel, out);
            }
        }
    }
}
