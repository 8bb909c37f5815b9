package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;

/**
 * What the keyed and the ckks rescore {@code query} share: {@code {"prefix":[…],"cells":{"<cell id>":"<base64>",…},
 * "epoch":1}}. The prefix, the cell ids and the epoch are parsed, checked, written and compared the same way in both
 * modes; the cell values {@code V} differ (keyed: float32 residuals, ckks: ciphertext bytes), and so does the wording
 * of the errors ({@link RescorePayloadErrors}).
 */
abstract sealed class RescorePayload<V> implements Writeable, ToXContentFragment
        permits KeyedRescorePayload, CkksRescorePayload {

    /** Longest prefix (and keyed residual) one request may carry. */
    public static final int MAX_VECTOR = 16_000;

    private final float[] prefix;
    private final Map<Integer, V> cells; // sorted by cell id
    private final Integer epoch;

    /** Keeps {@code prefix} and {@code sortedCells} (sorted by cell id) as they are: pass copies the caller no longer uses. */
    RescorePayload(float[] prefix, TreeMap<Integer, V> sortedCells, Integer epoch) {
        this.prefix = prefix;
        this.cells = Collections.unmodifiableMap(sortedCells);
        this.epoch = epoch;
    }

    /** A copy of {@code cells} sorted by cell id, each value copied with {@code copyValue}. */
    static <V> TreeMap<Integer, V> sortedCopy(Map<Integer, V> cells, UnaryOperator<V> copyValue) {
        TreeMap<Integer, V> copy = new TreeMap<>();
        cells.forEach((c, v) -> copy.put(c, copyValue.apply(v)));
        return copy;
    }

    /** How this mode words its errors. */
    abstract RescorePayloadErrors errors();

    public float[] prefix() {
        return prefix;
    }

    /** Cell id → cell value, sorted by cell id (the values are not copied: do not modify). */
    public Map<Integer, V> cells() {
        return cells;
    }

    public Integer epoch() {
        return epoch;
    }

    // ---- checks that need no mapping (a parsed request and bytes from another node alike) ----

    /** The prefix has 1 to {@link #MAX_VECTOR} values, all finite. */
    final void checkPrefixShape() {
        String subject = errors().field(RescoreQueryFormat.Query.PREFIX);
        if (prefix.length == 0 || prefix.length > MAX_VECTOR) {
            throw errors().error(subject, "must have between 1 and " + MAX_VECTOR + " values, got " + prefix.length);
        }
        checkFinite(prefix, subject);
    }

    final void checkFinite(float[] values, String subject) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw errors().error(errors().element(subject, i), "is not a finite float32");
            }
        }
    }

    final void checkCellCount(int maxCells) {
        if (cells.size() > maxCells) {
            throw errors().error(
                            errors().field(RescoreQueryFormat.Query.CELLS),
                            "has " + cells.size() + " cells; at most " + maxCells + " per request");
        }
    }

    final void checkCellId(int cell) {
        if (cell < 0) {
            throw errors().error(errors().field(RescoreQueryFormat.Query.CELLS), "cell id " + cell + " is negative");
        }
    }

    final void checkEpoch() {
        if (epoch != null && epoch < 1) {
            throw errors().error(errors().field(RescoreQueryFormat.Query.EPOCH), "must be >= 1, got " + epoch);
        }
    }

    // ---- checks against the field's mapping (on the shard) ----

    final void checkPrefixDimension(EncryptedFieldSpec spec) {
        if (prefix.length != spec.prefixWidth()) {
            throw errors().error(
                            errors().field(RescoreQueryFormat.Query.PREFIX),
                            "has " + prefix.length + " values but field [" + spec.field() + "] has prefix width "
                                    + spec.prefixWidth() + " (prefix_dimension, plus one for the augmented "
                                    + "prefix_layout)");
        }
    }

    // ---- x-content ----

    @Override
    public final XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(RescoreQueryFormat.QUERY);
        builder.field(RescoreQueryFormat.Query.PREFIX, prefix);
        builder.startObject(RescoreQueryFormat.Query.CELLS);
        for (Map.Entry<Integer, V> e : cells.entrySet()) {
            builder.field(Integer.toString(e.getKey()), encodeCell(e.getValue()));
        }
        builder.endObject();
        if (epoch != null) {
            builder.field(RescoreQueryFormat.Query.EPOCH, epoch);
        }
        modeFieldsToXContent(builder);
        builder.endObject();
        return builder;
    }

    /** The base64 text of one cell value, as parsed by the mode's {@code fromXContent}. */
    abstract String encodeCell(V value);

    /** Writes the keys only this mode has, after {@code epoch}. */
    void modeFieldsToXContent(XContentBuilder builder) throws IOException {}

    /** Reads one cell value from its base64 text; {@code subject} names the cell in errors. */
    @FunctionalInterface
    interface CellReader<V> {
        V read(String text, String subject);
    }

    /** A {@link CellReader} that also takes cell values sent as binary (a byte string in CBOR or SMILE). */
    interface BinaryCellReader<V> extends CellReader<V> {
        V readBinary(byte[] bytes, String subject);
    }

    /**
     * Parses the {@code cells} object at the parser's current token: {@code {"<cell id>":"<base64>",…}} with
     * non-negative, distinct cell ids and at most {@code maxCells} cells; each value is read by {@code reader}.
     */
    static <V> TreeMap<Integer, V> parseCells(
            XContentParser parser, RescorePayloadErrors errors, int maxCells, CellReader<V> reader) throws IOException {
        String subject = errors.field(RescoreQueryFormat.Query.CELLS);
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw errors.error(subject, "must be an object {\"<cell id>\":\"<" + errors.cellValue + ">\",…}");
        }
        TreeMap<Integer, V> cells = new TreeMap<>();
        while (parser.nextToken() != XContentParser.Token.END_OBJECT) {
            String key = parser.currentName();
            int cell;
            try {
                cell = Integer.parseInt(key);
            } catch (NumberFormatException e) {
                throw errors.error(
                        subject,
                        "key [" + (key.length() > 16 ? key.substring(0, 16) + "…" : key) + "] is not a cell id");
            }
            if (cell < 0) {
                throw errors.error(subject, "cell id " + cell + " is negative");
            }
            XContentParser.Token token = parser.nextToken();
            V value;
            if (token == XContentParser.Token.VALUE_STRING) {
                value = reader.read(parser.text(), errors.cell(cell));
            } else if (token == XContentParser.Token.VALUE_EMBEDDED_OBJECT
                    && reader instanceof BinaryCellReader<V> binary) {
                value = binary.readBinary(parser.binaryValue(), errors.cell(cell));
            } else {
                throw errors.error(errors.cell(cell), "must be " + errors.cellValueType);
            }
            if (cells.put(cell, value) != null) {
                throw errors.error(subject, "duplicate cell id " + cell);
            }
            if (cells.size() > maxCells) {
                throw errors.error(subject, "has more than " + maxCells + " cells");
            }
        }
        return cells;
    }

    /** Parses an array of at most {@code maxLength} numbers at the parser's current token. */
    static float[] parseFloats(XContentParser parser, String subject, int maxLength, RescorePayloadErrors errors)
            throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw errors.error(subject, "must be an array of numbers");
        }
        float[] values = new float[16];
        int n = 0;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            if (token != XContentParser.Token.VALUE_NUMBER) {
                throw errors.error(subject, "must be an array of numbers");
            }
            if (n >= maxLength) {
                throw errors.error(subject, errors.tooManyValues(maxLength));
            }
            if (n == values.length) {
                values = Arrays.copyOf(values, values.length * 2);
            }
            values[n++] = parser.floatValue();
        }
        return Arrays.copyOf(values, n);
    }

    /** Parses an integer (a JSON number without fraction) at the parser's current token; the range is the caller's. */
    static long parseInteger(XContentParser parser, String subject, RescorePayloadErrors errors) throws IOException {
        if (parser.currentToken() != XContentParser.Token.VALUE_NUMBER
                || (parser.numberType() != XContentParser.NumberType.INT
                        && parser.numberType() != XContentParser.NumberType.LONG)) {
            throw errors.error(subject, "must be an integer");
        }
        return parser.longValue();
    }

    // ---- equality ----

    /** Same prefix, epoch and cells: the part of {@code equals} both modes share. */
    final boolean sameQuery(RescorePayload<?> other) {
        if (!Arrays.equals(prefix, other.prefix)
                || !Objects.equals(epoch, other.epoch)
                || cells.size() != other.cells.size()) {
            return false;
        }
        for (Map.Entry<Integer, V> e : cells.entrySet()) {
            if (!Objects.deepEquals(e.getValue(), other.cells.get(e.getKey()))) { // array contents
                return false;
            }
        }
        return true;
    }

    /** The hash of prefix, epoch and cells, consistent with {@link #sameQuery}. */
    final int queryHash() {
        int h = Arrays.hashCode(prefix) * 31 + Objects.hashCode(epoch);
        for (Map.Entry<Integer, V> e : cells.entrySet()) {
            h = h * 31 + e.getKey() * 17 + Arrays.deepHashCode(new Object[] {e.getValue()}); // array contents
        }
        return h;
    }
}
