package org.encryptedknn.search;

import org.encryptedknn.index.EncryptedFieldSpec;
import org.encryptedknn.shard.EncryptedVector;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code query} of a keyed-mode rescore: {@code {"prefix":[…],"cells":{"17":"<b64 float32 H_c r_q>",…},"epoch":1}}.
 *
 * <p>{@code prefix} is pre-scaled by the key holder so that ⟨prefix, p_i⟩ approximates the prefix term (the data node
 * cannot decrypt p; the key holder adds the exact prefix term later from p and n in {@code _source}). {@code cells}
 * maps cell ids to the keyed query residual of that cell (little-endian float32, base64). {@code epoch} (optional):
 * the key epoch the residuals were keyed under; hits of another epoch keep the prefix part only, like hits of a cell
 * that is not in the query.
 */
public final class KeyedRescoreQuery implements Writeable, ToXContentFragment {

    /** Cells one request may carry. */
    public static final int MAX_CELLS = 4096;
    public static final int MAX_VECTOR = 16_000;

    private final float[] prefix;
    private final Map<Integer, float[]> cells; // sorted by cell id
    private final Integer epoch;

    public KeyedRescoreQuery(float[] prefix, Map<Integer, float[]> cells, Integer epoch) {
        this.prefix = Objects.requireNonNull(prefix, "prefix").clone();
        TreeMap<Integer, float[]> copy = new TreeMap<>();
        cells.forEach((c, v) -> copy.put(c, v.clone()));
        this.cells = Collections.unmodifiableMap(copy);
        this.epoch = epoch;
        validateShape();
    }

    public KeyedRescoreQuery(StreamInput in) throws IOException {
        this.prefix = in.readFloatArray();
        int n = in.readVInt();
        if (n > MAX_CELLS) {
            throw new IOException("too many cells: " + n);
        }
        TreeMap<Integer, float[]> map = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            map.put(in.readVInt(), in.readFloatArray());
        }
        this.cells = Collections.unmodifiableMap(map);
        this.epoch = in.readOptionalVInt();
        validateShape(); // bytes from another node: same checks as a parsed request
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeFloatArray(prefix);
        out.writeVInt(cells.size());
        for (Map.Entry<Integer, float[]> e : cells.entrySet()) {
            out.writeVInt(e.getKey());
            out.writeFloatArray(e.getValue());
        }
        out.writeOptionalVInt(epoch);
    }

    /** Checks that need no mapping: sizes, finiteness, one residual length for all cells. */
    private void validateShape() {
        if (prefix.length == 0 || prefix.length > MAX_VECTOR) {
            throw bad("[query.prefix] must have between 1 and " + MAX_VECTOR + " values, got " + prefix.length);
        }
        checkFinite(prefix, "query.prefix");
        if (cells.size() > MAX_CELLS) {
            throw bad("[query.cells] has " + cells.size() + " cells; at most " + MAX_CELLS + " per request");
        }
        int length = -1;
        for (Map.Entry<Integer, float[]> e : cells.entrySet()) {
            if (e.getKey() < 0) {
                throw bad("[query.cells] cell id " + e.getKey() + " is negative");
            }
            float[] r = e.getValue();
            if (r.length == 0) {
                throw bad("[query.cells." + e.getKey() + "] is empty");
            }
            if (length >= 0 && r.length != length) {
                throw bad("[query.cells." + e.getKey() + "] has " + r.length + " values; other cells have " + length);
            }
            length = r.length;
            checkFinite(r, "query.cells." + e.getKey());
        }
        if (epoch != null && epoch < 1) {
            throw bad("[query.epoch] must be >= 1, got " + epoch);
        }
    }

    /** Checks against the field's mapping (on the shard). */
    public void validate(EncryptedFieldSpec spec) {
        if (prefix.length != spec.prefixDimension()) {
            throw bad(
                "[query.prefix] has " + prefix.length + " values but field [" + spec.field() + "] has prefix_dimension "
                    + spec.prefixDimension()
            );
        }
        for (Map.Entry<Integer, float[]> e : cells.entrySet()) {
            if (e.getKey() >= spec.cells()) {
                throw bad(
                    "[query.cells] cell id " + e.getKey() + " is out of range: field [" + spec.field() + "] has cells [0, "
                        + spec.cells() + ")"
                );
            }
            if (e.getValue().length != spec.residualDimension()) {
                throw bad(
                    "[query.cells." + e.getKey() + "] has " + e.getValue().length + " float32 values but field [" + spec.field()
                        + "] has dimension - prefix_dimension = " + spec.residualDimension()
                );
            }
        }
    }

    public float[] prefix() {
        return prefix;
    }

    public Map<Integer, float[]> cells() {
        return cells;
    }

    public Integer epoch() {
        return epoch;
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject("query");
        builder.field("prefix", prefix);
        builder.startObject("cells");
        for (Map.Entry<Integer, float[]> e : cells.entrySet()) {
            builder.field(Integer.toString(e.getKey()), EncryptedVector.encodeFloats(e.getValue()));
        }
        builder.endObject();
        if (epoch != null) {
            builder.field("epoch", epoch);
        }
        builder.endObject();
        return builder;
    }

    /** Parses the object at the parser's current START_OBJECT. */
    public static KeyedRescoreQuery fromXContent(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw bad("[query] must be an object {\"prefix\":[…],\"cells\":{…}}");
        }
        float[] prefix = null;
        Map<Integer, float[]> cells = null;
        Integer epoch = null;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token != XContentParser.Token.FIELD_NAME) {
                throw bad("[query] is malformed");
            }
            String key = parser.currentName();
            token = parser.nextToken();
            switch (key) {
                case "prefix" -> prefix = parseFloatArray(parser, "query.prefix");
                case "cells" -> cells = parseCells(parser);
                case "epoch" -> {
                    if (token != XContentParser.Token.VALUE_NUMBER
                        || (parser.numberType() != XContentParser.NumberType.INT && parser.numberType() != XContentParser.NumberType.LONG)) {
                        throw bad("[query.epoch] must be an integer");
                    }
                    long value = parser.longValue();
                    if (value < 1 || value > Integer.MAX_VALUE) {
                        throw bad("[query.epoch] must be >= 1, got " + value);
                    }
                    epoch = (int) value;
                }
                default -> throw bad("[query] unknown key [" + key + "]; supported: prefix, cells, epoch");
            }
        }
        if (prefix == null) {
            throw bad("[query.prefix] is required");
        }
        return new KeyedRescoreQuery(prefix, cells == null ? Map.of() : cells, epoch);
    }

    private static Map<Integer, float[]> parseCells(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw bad("[query.cells] must be an object {\"<cell id>\":\"<base64 float32>\",…}");
        }
        Map<Integer, float[]> cells = new TreeMap<>();
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            String key = parser.currentName();
            int cell;
            try {
                cell = Integer.parseInt(key);
            } catch (NumberFormatException e) {
                throw bad("[query.cells] key [" + (key.length() > 16 ? key.substring(0, 16) + "…" : key) + "] is not a cell id");
            }
            if (cell < 0) {
                throw bad("[query.cells] cell id " + cell + " is negative");
            }
            token = parser.nextToken();
            if (token != XContentParser.Token.VALUE_STRING) {
                throw bad("[query.cells." + cell + "] must be a base64 string of little-endian float32");
            }
            String text = parser.text();
            if (text.length() > 4L * ((MAX_VECTOR * 4L + 2) / 3) + 4) {
                throw bad("[query.cells." + cell + "] is too long");
            }
            byte[] bytes;
            try {
                bytes = Base64.getDecoder().decode(text);
            } catch (IllegalArgumentException e) {
                throw bad("[query.cells." + cell + "] is not valid base64");
            }
            if (bytes.length % Float.BYTES != 0) {
                throw bad("[query.cells." + cell + "] decodes to " + bytes.length + " bytes, not a whole number of float32");
            }
            if (cells.put(cell, EncryptedVector.decodeFloats(text)) != null) {
                throw bad("[query.cells] duplicate cell id " + cell);
            }
            if (cells.size() > MAX_CELLS) {
                throw bad("[query.cells] has more than " + MAX_CELLS + " cells");
            }
        }
        return cells;
    }

    private static float[] parseFloatArray(XContentParser parser, String name) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw bad("[" + name + "] must be an array of numbers");
        }
        List<Float> values = new ArrayList<>();
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            if (token != XContentParser.Token.VALUE_NUMBER) {
                throw bad("[" + name + "] must be an array of numbers");
            }
            if (values.size() >= MAX_VECTOR) {
                throw bad("[" + name + "] is too long");
            }
            values.add(parser.floatValue());
        }
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    private static void checkFinite(float[] values, String name) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw bad("[" + name + "][" + i + "] is not a finite float32");
            }
        }
    }

    static IllegalArgumentException bad(String problem) {
        return new IllegalArgumentException("[encrypted_knn] rescore: " + problem);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof KeyedRescoreQuery other)) {
            return false;
        }
        if (!Arrays.equals(prefix, other.prefix) || !Objects.equals(epoch, other.epoch) || cells.size() != other.cells.size()) {
            return false;
        }
        for (Map.Entry<Integer, float[]> e : cells.entrySet()) {
            if (!Arrays.equals(e.getValue(), other.cells.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = Arrays.hashCode(prefix) * 31 + Objects.hashCode(epoch);
        for (Map.Entry<Integer, float[]> e : cells.entrySet()) {
            h = h * 31 + e.getKey() * 17 + Arrays.hashCode(e.getValue());
        }
        return h;
    }
}
