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

    /** The k-NN plugin's {@code space_type} l2, its default: exact over a cosine model for unit-length documents. */
    public static final String L2 = "l2";
    /**
     * How far from 1 the norm of a document vector of an l2 field may be: the key holder scores the document as the
     * unit vector x/‖x‖, whose squared distance to a query q differs from x's by (‖x‖ − 1)(‖x‖ + 1 − 2⟨q, x/‖x‖⟩),
     * so k-NN's l2 score 1/(1 + d²) stays within 1e-5·(2 + 2‖q‖) of the plaintext index's (4e-5 for a unit query).
     * Encoders that normalize in float32 are within 1e-6.
     */
    public static final double L2_NORM_TOLERANCE = 1e-5;

    private DropInMapping() {}

    /**
     * A vector field of an opted-in index: the model that encrypts it, and whether its {@code knn} answers are in the
     * k-NN plugin's l2 convention (the field's {@code space_type} is {@code l2}: its documents must be unit vectors)
     * rather than in the model space's.
     */
    public record VectorField(String modelId, boolean l2) {}

    /**
     * Full field path → every vector field: an {@code encrypted_knn_vector} under its own {@code model_id}, a
     * {@code knn_vector} under the opt-in model (it becomes encrypted when the index is created; without a
     * {@code space_type} it is l2, the k-NN plugin's default). Accepts mappings with or without the {@code _doc}
     * wrapper.
     */
    public static Map<String, VectorField> vectorFields(List<Map<String, Object>> mappings, String dropInModel) {
        Map<String, VectorField> out = new LinkedHashMap<>();
        for (Map<String, Object> mapping : mappings) {
            Object root = mapping.get("_doc") instanceof Map<?, ?> doc ? doc : mapping;
            if (root instanceof Map<?, ?> r) {
                collect(r.get("properties"), "", dropInModel, out);
            }
        }
        return out;
    }

    private static void collect(Object properties, String prefix, String dropInModel, Map<String, VectorField> out) {
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
                String model = field.get("model_id") instanceof String m ? m : dropInModel;
                out.put(path, new VectorField(model, L2.equals(field.get("space_type"))));
            } else if (KNN_VECTOR_TYPE.equals(type)) {
                String spaceType = knnSpaceType(field);
                out.put(path, new VectorField(dropInModel, spaceType == null || L2.equals(spaceType)));
            } else {
                collect(field.get("properties"), path + ".", dropInModel, out);
            }
        }
    }

    /** The {@code space_type} of a {@code knn_vector} field, on the field or in its {@code method}; null if neither. */
    public static String knnSpaceType(Map<?, ?> field) {
        if (field.get("space_type") != null) {
            return String.valueOf(field.get("space_type"));
        }
        return field.get("method") instanceof Map<?, ?> method && method.get("space_type") != null
                ? String.valueOf(method.get("space_type"))
                : null;
    }
}
