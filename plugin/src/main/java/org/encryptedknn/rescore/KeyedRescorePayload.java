package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.encryptedknn.transform.EncryptedVector;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentParser;

/**
 * The {@code query} of a keyed-mode rescore: {@code {"prefix":[…],"cells":{"17":"<b64 float32 H_c r_q>",…},"epoch":1}}.
 *
 * <p>{@code prefix} is the stage-1 query prefix p_q and {@code cells} maps cell ids to the keyed query residual of that
 * cell scaled by s² (little-endian float32, base64), so that ⟨prefix, p_i⟩ + ⟨cells[c_i], z_i⟩ is s² times the
 * approximate score: the same order, and no pair (p_q, p_q / s²) in the request gives the SAP scale away (the data node
 * cannot decrypt p; the key holder scores exactly from p and n). {@code epoch} (optional):
 * the key epoch the residuals were keyed under; hits of another epoch keep the prefix part only, like hits of a cell
 * that is not in the query.
 */
public final class KeyedRescorePayload extends RescorePayload<float[]> {

    /** Cells one request may carry. */
    public static final int MAX_CELLS = 4096;

    private static final RescorePayloadErrors ERRORS = RescorePayloadErrors.KEYED;

    public KeyedRescorePayload(float[] prefix, Map<Integer, float[]> cells, Integer epoch) {
        super(Objects.requireNonNull(prefix, "prefix").clone(), sortedCopy(cells, float[]::clone), epoch);
        validateShape();
    }

    public KeyedRescorePayload(StreamInput in) throws IOException {
        super(in.readFloatArray(), readCells(in), in.readOptionalVInt());
        validateShape(); // bytes from another node: same checks as a parsed request
    }

    private static TreeMap<Integer, float[]> readCells(StreamInput in) throws IOException {
        int n = in.readVInt();
        if (n > MAX_CELLS) {
            throw new IOException("too many cells: " + n);
        }
        TreeMap<Integer, float[]> map = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            map.put(in.readVInt(), in.readFloatArray());
        }
        return map;
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeFloatArray(prefix());
        out.writeVInt(cells().size());
        for (Map.Entry<Integer, float[]> e : cells().entrySet()) {
            out.writeVInt(e.getKey());
            out.writeFloatArray(e.getValue());
        }
        out.writeOptionalVInt(epoch());
    }

    @Override
    RescorePayloadErrors errors() {
        return ERRORS;
    }

    /** Checks that need no mapping: sizes, finiteness, one residual length for all cells. */
    private void validateShape() {
        checkPrefixShape();
        checkCellCount(MAX_CELLS);
        int length = -1;
        for (Map.Entry<Integer, float[]> e : cells().entrySet()) {
            checkCellId(e.getKey());
            String cell = ERRORS.cell(e.getKey());
            float[] r = e.getValue();
            if (r.length == 0) {
                throw ERRORS.error(cell, "is empty");
            }
            if (length >= 0 && r.length != length) {
                throw ERRORS.error(cell, "has " + r.length + " values; other cells have " + length);
            }
            length = r.length;
            checkFinite(r, cell);
        }
        checkEpoch();
    }

    /** Checks against the field's mapping (on the shard). */
    public void validate(EncryptedFieldSpec spec) {
        checkPrefixDimension(spec);
        for (Map.Entry<Integer, float[]> e : cells().entrySet()) {
            if (e.getKey() >= spec.cells()) {
                throw bad("[query.cells] cell id " + e.getKey() + " is out of range: field [" + spec.field()
                        + "] has cells [0, " + spec.cells() + ")");
            }
            int length = e.getValue().length;
            if (length != spec.residualDimension() && length != spec.residualDimension() + 1) {
                throw bad("[query.cells." + e.getKey() + "] has " + length + " float32 values but field ["
                        + spec.field() + "] has dimension - prefix_dimension = " + spec.residualDimension()
                        + " (plus one when the model pads the residual)");
            }
        }
    }

    @Override
    String encodeCell(float[] residual) {
        return EncryptedVector.encodeFloats(residual);
    }

    /** Parses the object at the parser's current START_OBJECT. */
    public static KeyedRescorePayload fromXContent(XContentParser parser) throws IOException {
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
            parser.nextToken();
            switch (key) {
                case RescoreQueryFormat.Query.PREFIX ->
                    prefix = parseFloats(parser, ERRORS.field(RescoreQueryFormat.Query.PREFIX), MAX_VECTOR, ERRORS);
                case RescoreQueryFormat.Query.CELLS ->
                    cells = parseCells(parser, ERRORS, MAX_CELLS, KeyedRescorePayload::decodeResidual);
                case RescoreQueryFormat.Query.EPOCH -> {
                    long value = parseInteger(parser, ERRORS.field(RescoreQueryFormat.Query.EPOCH), ERRORS);
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
        return new KeyedRescorePayload(prefix, cells == null ? Map.of() : cells, epoch);
    }

    /** One cell's keyed query residual from its base64 little-endian float32 text. */
    private static float[] decodeResidual(String text, String subject) {
        if (text.length() > 4L * ((MAX_VECTOR * 4L + 2) / 3) + 4) {
            throw ERRORS.error(subject, "is too long");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw ERRORS.error(subject, "is not valid base64");
        }
        if (bytes.length % Float.BYTES != 0) {
            throw ERRORS.error(subject, "decodes to " + bytes.length + " bytes, not a whole number of float32");
        }
        return EncryptedVector.decodeFloats(text);
    }

    static IllegalArgumentException bad(String problem) {
        return new IllegalArgumentException("[encrypted_knn] rescore: " + problem);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyedRescorePayload other && sameQuery(other);
    }

    @Override
    public int hashCode() {
        return queryHash();
    }
}
