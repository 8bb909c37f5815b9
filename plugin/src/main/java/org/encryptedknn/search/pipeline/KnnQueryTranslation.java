package org.encryptedknn.search.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.encryptedknn.query.EncryptedKnnQueryBuilder;

/**
 * Translates the k-NN plugin's {@code knn} query on an encrypted field into the plaintext-vector form of our
 * {@code encrypted_knn} query, on the JSON form of the query (so it works inside any compound query, {@code bool},
 * {@code dis_max}, neural-search's {@code hybrid}, {@code function_score}, … without knowing their classes, and
 * without a compile-time dependency on either plugin).
 *
 * <p>{@code {"knn":{"f":{"vector":[…],"k":10,"filter":{…},"method_parameters":{"ef_search":100},"boost":2,"_name":"n"}}}}
 * becomes {@code {"encrypted_knn":{"f":{"vector":[…],"filter":{…},"num_candidates":100,"boost":2,"_name":"n"}}}} with
 * {@link #k} = 10: frameworks send as k the number of results they want, so the encrypted query leaves its window
 * to the model's calibrated default (at least k, {@link EncryptedKnnQueryProcessor#MIN_WINDOW}) and k only cuts the
 * answer, as k-NN's k does.
 * What has no encrypted equivalent is a 400 naming it: radial search ({@code min_score}/{@code max_distance} inside
 * {@code knn}), {@code rescore}, {@code expand_nested_docs}, other {@code method_parameters}, and a second {@code knn}
 * on an encrypted field in the same request. The translated node is a fresh mutable map, {@link #slot}, so the caller
 * can later put the encrypted query in its place.
 */
final class KnnQueryTranslation {

    static final String KNN = "knn";

    private static final Set<String> TRANSLATED = Set.of("vector", "k", "filter", "boost", "_name");

    /** The translated query (same object as the input, changed in place). */
    final Object query;
    /** The field of the translated {@code knn}, or null when the query has none on an encrypted field. */
    final String field;
    /** The {@code {"encrypted_knn":{…}}} node inside {@link #query}. */
    final Map<String, Object> slot;
    /** The {@code knn} query's k: the most hits the answer holds (0 when there is no translated query). */
    final int k;

    private KnnQueryTranslation(Object query, String field, Map<String, Object> slot, int k) {
        this.query = query;
        this.field = field;
        this.slot = slot;
        this.k = k;
    }

    /**
     * Translates every {@code knn} query on a field that {@code encrypted} accepts; a {@code knn} on any other field
     * is left to the k-NN plugin.
     */
    static KnnQueryTranslation translate(Object query, Predicate<String> encrypted) {
        List<Map<String, Object>> found = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        walk(query, encrypted, found, fields);
        if (found.size() > 1) {
            throw new IllegalArgumentException("a request can hold one [knn] query on an encrypted field, found "
                    + found.size() + " (on " + fields + ")");
        }
        if (found.isEmpty()) {
            return new KnnQueryTranslation(query, null, null, 0);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> body = (Map<String, Object>)
                ((Map<String, Object>) found.get(0).get(EncryptedKnnQueryBuilder.NAME)).get(fields.get(0));
        Object k = body.remove("k");
        if (!(k instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || n.intValue() < 1) {
            throw new IllegalArgumentException(
                    "[knn] on encrypted field [" + fields.get(0) + "] [k] must be a positive integer, got " + k);
        }
        if (body.get("num_candidates") instanceof Number ef && ef.intValue() < n.intValue()) {
            body.put("num_candidates", n.intValue()); // ef_search below k: the graph search still finds k
        }
        return new KnnQueryTranslation(query, fields.get(0), found.get(0), n.intValue());
    }

    @SuppressWarnings("unchecked")
    private static void walk(
            Object node, Predicate<String> encrypted, List<Map<String, Object>> found, List<String> fields) {
        if (node instanceof List<?> list) {
            for (Object o : list) {
                walk(o, encrypted, found, fields);
            }
            return;
        }
        if (!(node instanceof Map<?, ?> raw)) {
            return;
        }
        Map<String, Object> map = (Map<String, Object>) raw;
        if (map.size() == 1 && map.get(KNN) instanceof Map<?, ?> knn && knn.size() == 1) {
            Map.Entry<?, ?> only = knn.entrySet().iterator().next();
            String field = String.valueOf(only.getKey());
            if (encrypted.test(field) && only.getValue() instanceof Map<?, ?> body) {
                Map<String, Object> translated = translateBody(field, (Map<String, Object>) body);
                map.clear();
                map.put(EncryptedKnnQueryBuilder.NAME, Map.of(field, translated));
                found.add(map);
                fields.add(field);
                return;
            }
        }
        if (map.get("script_score") instanceof Map<?, ?> scriptScore) {
            refuseScriptOnEncryptedField(scriptScore.get("script"), encrypted);
        }
        for (Object value : map.values()) {
            walk(value, encrypted, found, fields);
        }
    }

    /**
     * A {@code script_score} (query or function) that reads an encrypted field: the k-NN plugin's {@code knn_score}
     * ({@code params.field}) or painless vector functions over {@code doc['field']} ({@code l2Squared},
     * {@code cosineSimilarity}, … as LlamaIndex sends for filtered searches). It cannot run: the data node holds no
     * plaintext vector, and the script's {@code query_value} would carry the plaintext query vector to it. A 400
     * naming the alternative, before anything leaves this node.
     */
    private static void refuseScriptOnEncryptedField(Object script, Predicate<String> encrypted) {
        if (!(script instanceof Map<?, ?> s)) {
            return;
        }
        String field = null;
        if (s.get("params") instanceof Map<?, ?> params
                && params.get("field") instanceof String f
                && encrypted.test(f)) {
            field = f;
        }
        if (field == null && s.get("source") instanceof String source) {
            java.util.regex.Matcher m = DOC_FIELD.matcher(source);
            while (field == null && m.find()) {
                field = encrypted.test(m.group(2)) ? m.group(2) : null;
            }
        }
        if (field != null) {
            throw new IllegalArgumentException("[script_score] reads the encrypted field [" + field
                    + "], whose vectors the data nodes hold encrypted only; use the [knn] query on [" + field
                    + "] with its [filter] (the script's query as the filter, [k] the number of hits wanted): it is"
                    + " answered exactly and scored in the k-NN plugin's convention for the field's space");
        }
    }

    private static final java.util.regex.Pattern DOC_FIELD =
            java.util.regex.Pattern.compile("doc\\[(['\"])([^'\"]+)\\1\\]");

    private static Map<String, Object> translateBody(String field, Map<String, Object> body) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : body.entrySet()) {
            String key = e.getKey();
            if (TRANSLATED.contains(key)) {
                out.put(key, e.getValue());
            } else if (key.equals("method_parameters")) {
                if (e.getValue() instanceof Map<?, ?> params) {
                    for (Map.Entry<?, ?> p : params.entrySet()) {
                        if ("ef_search".equals(p.getKey())) {
                            out.put("num_candidates", p.getValue());
                        } else {
                            throw unsupported(field, "method_parameters." + p.getKey(), "only [ef_search] applies");
                        }
                    }
                }
            } else if ((key.equals("expand_nested_docs") && Boolean.FALSE.equals(e.getValue()))
                    || key.equals("ignore_unmapped")) {
                // the k-NN plugin's default written out by its builder; the field is mapped (it is encrypted)
            } else if (key.equals("min_score") || key.equals("max_distance")) {
                throw unsupported(
                        field, key, "radial search has no encrypted form; use [k] and a top-level [min_score]");
            } else {
                throw unsupported(field, key, "it has no encrypted form");
            }
        }
        if (out.containsKey("vector") == false) {
            throw new IllegalArgumentException("[knn] on encrypted field [" + field + "] requires [vector]");
        }
        if (out.containsKey("k") == false) {
            throw new IllegalArgumentException("[knn] on encrypted field [" + field + "] requires [k]");
        }
        return out;
    }

    private static IllegalArgumentException unsupported(String field, String option, String why) {
        return new IllegalArgumentException(
                "[knn] on encrypted field [" + field + "] does not support [" + option + "]: " + why);
    }
}
