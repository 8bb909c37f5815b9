package org.encryptedknn.codec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.lucene.util.BytesRef;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.RecordFormat;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.common.collect.Tuple;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.support.XContentMapValues;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.xcontent.MediaType;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.core.xcontent.XContentBuilder;

/**
 * The one place that edits a stored {@code _source} for {@link DerivedSourceStoredFieldsFormat}: the encrypted prefix
 * {@code p} and the keyed residual {@code z} (or a sealed record's {@code s}) of each encrypted field leave the stored
 * source on write (the field's float32 vector values hold the same p, its {@code <field>._residual} doc values the same
 * z or s) and come back on read, p as float32 numbers and z or s as the same base64 text, in their places ({@code p}
 * first, {@code z} or {@code s} before {@code e}).
 * The source keeps its content type (JSON, SMILE, CBOR, YAML) and key order; a source without the field, or whose field
 * is not an object, is left as it is.
 */
final class RecordSource {

    private RecordSource() {}

    /**
     * {@code source} without {@code p}, {@code z} and {@code s} in each of {@code fields}, or null when there was nothing
     * to remove.
     */
    static BytesRef strip(BytesRef source, Collection<String> fields) {
        return edit(
                source,
                fields,
                (field, record) -> record.remove(RecordFormat.PREFIX) != null
                        | record.remove(RecordFormat.KEYED_RESIDUAL) != null
                        | record.remove(RecordFormat.SEALED) != null);
    }

    /**
     * {@code source} with {@code p} and {@code z} (or {@code s}) put back into each field that {@code prefixes} /
     * {@code residuals} have a value for (null when the document has none), or null when nothing was added.
     */
    static BytesRef inject(
            BytesRef source,
            Collection<String> fields,
            Function<String, float[]> prefixes,
            Function<String, ResidualLayout.Residual> residuals) {
        return edit(source, fields, (field, record) -> {
            float[] p = record.containsKey(RecordFormat.PREFIX) ? null : prefixes.apply(field);
            boolean hasResidual =
                    record.containsKey(RecordFormat.KEYED_RESIDUAL) || record.containsKey(RecordFormat.SEALED);
            ResidualLayout.Residual residual = hasResidual ? null : residuals.apply(field);
            if (p == null && residual == null) {
                return false;
            }
            String residualKey = null;
            String residualText = null; // z, or a sealed record's s, as base64
            if (residual != null) {
                residualKey = residual.isSealed() ? RecordFormat.SEALED : RecordFormat.KEYED_RESIDUAL;
                residualText = residual.isSealed()
                        ? Base64.getEncoder().encodeToString(residual.sealed())
                        : EncryptedVector.encodeFloats(residual.z());
            }
            // back in their usual places: {"p","n","c","z","e"} or {"p","n","s","e"} reads as it was indexed
            Map<String, Object> ordered = new LinkedHashMap<>();
            if (p != null) {
                List<Float> prefix = new ArrayList<>(p.length);
                for (float f : p) {
                    prefix.add(f);
                }
                ordered.put(RecordFormat.PREFIX, prefix);
            }
            for (Map.Entry<String, Object> e : record.entrySet()) {
                if (residualText != null && e.getKey().equals(RecordFormat.EPOCH)) {
                    ordered.put(residualKey, residualText);
                }
                ordered.put(e.getKey(), e.getValue());
            }
            if (residualText != null) {
                ordered.putIfAbsent(residualKey, residualText);
            }
            record.clear();
            record.putAll(ordered);
            return true;
        });
    }

    private interface RecordEdit {
        boolean apply(String field, Map<String, Object> record);
    }

    @SuppressWarnings("unchecked")
    private static BytesRef edit(BytesRef source, Collection<String> fields, RecordEdit edit) {
        if (fields.isEmpty()) {
            return null;
        }
        Tuple<? extends MediaType, Map<String, Object>> parsed = XContentHelper.convertToMap(
                new BytesArray(source.bytes, source.offset, source.length), true, (MediaType) null);
        boolean changed = false;
        for (String field : fields) {
            if (XContentMapValues.extractValue(field, parsed.v2()) instanceof Map<?, ?> record) {
                changed |= edit.apply(field, (Map<String, Object>) record);
            }
        }
        if (!changed) {
            return null;
        }
        try (XContentBuilder builder = MediaTypeRegistry.contentBuilder(parsed.v1())) {
            builder.map(parsed.v2());
            return BytesReference.bytes(builder).toBytesRef();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("re-serializing _source", e);
        }
    }
}
