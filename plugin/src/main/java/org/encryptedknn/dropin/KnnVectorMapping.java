package org.encryptedknn.dropin;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.settings.DropInMapping;

/**
 * The mapping of an index that opted in with {@code index.encrypted_knn.model_id}: the k-NN plugin's {@code knn_vector}
 * fields (as LangChain, LlamaIndex and opensearch-py's guides create them) become {@code encrypted_knn_vector} fields
 * under the opt-in model, and {@code encrypted_knn_vector} fields get {@code model_id}, {@code cells} and
 * {@code prefix_dimension} from the model when they leave them out; {@code prefix_layout} always from the model.
 *
 * <p>The {@code knn_vector} parameters that mean something for an encrypted field carry over: {@code dimension} (must
 * equal the model's), {@code method.parameters.m} and {@code ef_construction} (our HNSW graph over the encrypted
 * prefixes). {@code method.name} must be {@code hnsw}; {@code method.engine} ({@code lucene}, {@code faiss},
 * {@code nmslib}) is accepted and ignored (the graph is Lucene's, in our codec); {@code space_type} (in {@code method} or
 * at the field level) must be the model's space: {@code cosinesimil} for a cosine model, {@code innerproduct} for an
 * inner-product one; or, over a cosine model only, {@code l2}, which is also what a {@code knn_vector} without
 * {@code space_type} gets (k-NN's default, LangChain's and LlamaIndex's). l2 is exact there because its documents must
 * be unit vectors ({@code ingest.DropInIngestProcessor} refuses others): ‖q − x‖² = ‖q‖² + 1 − 2‖q‖·cos(q, x) for any
 * query q, so the order is the cosine order and the key holder computes k-NN's l2 score from the exact cosine. It is
 * kept as the field's {@code space_type: l2}. Over an inner-product model l2 would need each document's norm at search
 * time, which the rerank does not compute: a 400. Anything else (other spaces, {@code data_type} other than
 * {@code float}, quantization {@code mode}/{@code compression_level}, encoders, k-NN trained models) is a 400 naming
 * the field and the parameter: there is no encrypted equivalent, and silently dropping it would change the results.
 */
public final class KnnVectorMapping {

    private static final Set<String> ENGINES = Set.of("lucene", "faiss", "nmslib");

    private KnnVectorMapping() {}

    /** The k-NN plugin's name of a model space. */
    public static String knnSpaceType(Space space) {
        return switch (space) {
            case COSINE -> "cosinesimil";
            case INNER_PRODUCT -> "innerproduct";
        };
    }

    /** Whether the mapping (with or without the {@code _doc} wrapper) has a field this class would rewrite. */
    public static boolean hasVectorFields(Map<String, Object> mapping, String modelId) {
        return DropInMapping.vectorFields(java.util.List.of(mapping), modelId).isEmpty() == false;
    }

    /** Rewrites the mapping in place; {@code model} is the opt-in model's parameters. */
    public static void rewrite(Map<String, Object> mapping, String modelId, ModelMetadata model) {
        Object root = mapping.get("_doc") instanceof Map<?, ?> doc ? doc : mapping;
        if (root instanceof Map<?, ?> r) {
            rewriteProperties(r.get("properties"), "", modelId, model);
        }
    }

    @SuppressWarnings("unchecked")
    private static void rewriteProperties(Object properties, String prefix, String modelId, ModelMetadata model) {
        if (!(properties instanceof Map<?, ?> props)) {
            return;
        }
        for (Map.Entry<String, Object> e : ((Map<String, Object>) props).entrySet()) {
            if (!(e.getValue() instanceof Map<?, ?> raw)) {
                continue;
            }
            Map<String, Object> field = (Map<String, Object>) raw;
            String path = prefix + e.getKey();
            Object type = field.get("type");
            if (DropInMapping.KNN_VECTOR_TYPE.equals(type)) {
                if (field.containsKey("model_id")) {
                    throw unsupported(path, "model_id", "k-NN trained models have no encrypted form");
                }
                e.setValue(encrypted(path, field, modelId, model));
            } else if (DropInMapping.ENCRYPTED_TYPE.equals(type)) {
                Object fieldModel = field.get("model_id");
                if (fieldModel == null || modelId.equals(fieldModel)) {
                    e.setValue(encrypted(path, field, modelId, model));
                }
            } else {
                rewriteProperties(field.get("properties"), path + ".", modelId, model);
            }
        }
    }

    private static Map<String, Object> encrypted(
            String path, Map<String, Object> field, String modelId, ModelMetadata meta) {
        ModelParameters model = meta.parameters();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("type", DropInMapping.ENCRYPTED_TYPE);
        out.put("model_id", modelId);
        Map<String, Object> hnsw = new LinkedHashMap<>();
        String spaceType = null;
        for (Map.Entry<String, Object> e : field.entrySet()) {
            String key = e.getKey();
            Object value = e.getValue();
            switch (key) {
                case "type", "model_id" -> {}
                case "dimension" -> {
                    if (!(value instanceof Number n) || n.intValue() != model.dimension()) {
                        throw new IllegalArgumentException("field [" + path + "]: [dimension] is " + value
                                + " but model [" + modelId + "] has dimension " + model.dimension());
                    }
                }
                case "prefix_dimension", "cells" -> {
                    int expected = key.equals("cells") ? model.cells() : model.prefixDimension();
                    if (!(value instanceof Number n) || n.intValue() != expected) {
                        throw new IllegalArgumentException("field [" + path + "]: [" + key + "] is " + value
                                + " but model [" + modelId + "] has " + expected + " (leave it out)");
                    }
                }
                case "prefix_layout" -> {
                    if (meta.prefixLayout().wireName().equals(value) == false) {
                        throw new IllegalArgumentException("field [" + path + "]: [prefix_layout] is " + value
                                + " but model [" + modelId + "] has "
                                + meta.prefixLayout().wireName()
                                + " (leave it out)");
                    }
                }
                case "data_type" -> {
                    if ("float".equals(value) == false) {
                        throw unsupported(path, "data_type: " + value, "only float vectors are encrypted");
                    }
                }
                case "space_type" -> spaceType = String.valueOf(value);
                case "mode" -> {
                    if ("in_memory".equals(value) == false) {
                        throw unsupported(path, "mode: " + value, "quantized vectors have no encrypted form");
                    }
                }
                case "compression_level" -> {
                    if ("1x".equals(value) == false) {
                        throw unsupported(
                                path, "compression_level: " + value, "quantized vectors have no encrypted form");
                    }
                }
                case "method" -> spaceType = method(path, value, hnsw, spaceType);
                default -> throw unsupported(path, key, "it has no encrypted form");
            }
        }
        boolean knnVector = DropInMapping.ENCRYPTED_TYPE.equals(field.get("type")) == false;
        if (spaceType == null && knnVector) {
            spaceType = DropInMapping.L2; // the k-NN plugin's default
        }
        boolean l2 = DropInMapping.L2.equals(spaceType);
        String modelSpace = knnSpaceType(model.space());
        if (l2 && model.space() != Space.COSINE) {
            throw unsupported(
                    path,
                    "space_type: l2"
                            + (field.containsKey("space_type") || hasMethodSpace(field) ? "" : " (k-NN's default)"),
                    "l2 is exact only over a cosine model (unit-length documents); model [" + modelId + "] preserves "
                            + model.space().wireName() + " similarity: set [" + modelSpace + "]");
        }
        if (spaceType != null && l2 == false && spaceType.equals(modelSpace) == false) {
            throw unsupported(
                    path,
                    "space_type: " + spaceType,
                    "model [" + modelId + "] preserves " + model.space().wireName() + " similarity; use [" + modelSpace
                            + "]" + (model.space() == Space.COSINE ? " or [l2]" : ""));
        }
        if (l2) {
            out.put("space_type", DropInMapping.L2);
        }
        out.put("dimension", model.dimension());
        out.put("prefix_dimension", model.prefixDimension());
        out.put("prefix_layout", meta.prefixLayout().wireName());
        out.put("cells", model.cells());
        if (hnsw.isEmpty() == false) {
            out.put("method", hnsw);
        }
        return out;
    }

    /** Reads a {@code method} object (k-NN's or ours) into {@code hnsw}; returns its space type, if any. */
    private static String method(String path, Object value, Map<String, Object> hnsw, String spaceType) {
        if (!(value instanceof Map<?, ?> method)) {
            throw unsupported(path, "method", "must be an object");
        }
        for (Map.Entry<?, ?> m : method.entrySet()) {
            String key = String.valueOf(m.getKey());
            Object v = m.getValue();
            switch (key) {
                case "name" -> {
                    if ("hnsw".equals(v) == false) {
                        throw unsupported(path, "method.name: " + v, "encrypted fields are searched with HNSW");
                    }
                }
                case "engine" -> {
                    if (ENGINES.contains(String.valueOf(v)) == false) {
                        throw unsupported(path, "method.engine: " + v, "one of " + ENGINES + " (ignored)");
                    }
                }
                case "space_type" -> spaceType = String.valueOf(v);
                case "m", "ef_construction" -> hnsw.put(key, v); // our own method form
                case "parameters" -> {
                    if (v instanceof Map<?, ?> params) {
                        for (Map.Entry<?, ?> p : params.entrySet()) {
                            String name = String.valueOf(p.getKey());
                            if (name.equals("m") || name.equals("ef_construction")) {
                                hnsw.put(name, p.getValue());
                            } else if (name.equals("ef_search") == false) { // a search-time knob: ignored
                                throw unsupported(path, "method.parameters." + name, "it has no encrypted form");
                            }
                        }
                    }
                }
                default -> throw unsupported(path, "method." + key, "it has no encrypted form");
            }
        }
        return spaceType;
    }

    private static boolean hasMethodSpace(Map<String, Object> field) {
        return field.get("method") instanceof Map<?, ?> method && method.containsKey("space_type");
    }

    private static IllegalArgumentException unsupported(String path, String what, String why) {
        return new IllegalArgumentException("field [" + path + "] of an index with [index.encrypted_knn.model_id]: ["
                + what + "] is not supported: " + why);
    }
}
