package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksScorer;
import org.encryptedknn.he.HeException;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.encryptedknn.transform.ResidualLayout;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;

/**
 * The {@code query} of a ckks-mode rescore:
 * <pre>{"prefix":[…],"cells":{"17":"&lt;b64 seeded CKKS ciphertext of H_17 r_q&gt;",…},
 *  "epoch":1,
 *  "ckks":{"poly_degree":4096,"coeff_modulus_bits":[50],"scale_bits":25,"block_width":289}}</pre>
 *
 * <p>All of it is untrusted. Checks, in order, all before any native call that touches request bytes: the parameter
 * set against {@link CkksContexts#ALLOWED}; the number of cells ({@link #MAX_CELLS}); each cell's base64 length
 * against the context's maximum query ciphertext size (wire form); base64 decoding; bounded unpacking of the wire form
 * ({@link org.encryptedknn.he.CiphertextWire}), the SEAL header and exact size (Java). The
 * data node then loads each ciphertext with the native validating loader (parameter id, prime count, scale).
 * Errors are {@link IllegalArgumentException}s (400) naming the field, e.g.
 * {@code [encrypted_knn] rescore.encrypted_knn.query.cells[17]: not valid base64}.
 */
public final class CkksRescorePayload extends RescorePayload<byte[]> {

    /** Cells (query ciphertexts) one ckks request may carry: ≈ 26 KB each at N = 4096, ≈ 51 KB at N = 8192 (wire form). */
    public static final int MAX_CELLS = 256;
    /** Largest rescore window in ckks mode: each batch of ⌊(N − 1)/B⌋ hits returns one ≈ 51 KB ciphertext. */
    public static final int MAX_WINDOW = 1000;

    static final String PATH = "rescore.encrypted_knn.query";

    private static final RescorePayloadErrors ERRORS = RescorePayloadErrors.CKKS;

    private final CkksParameters params;

    public CkksRescorePayload(float[] prefix, Map<Integer, byte[]> cells, Integer epoch, CkksParameters params) {
        this(
                Objects.requireNonNull(prefix, "prefix").clone(),
                CkksContexts.check(
                        params.polyDegree(),
                        params.coeffModulusBits(),
                        params.scaleBits(),
                        params.blockWidth(),
                        PATH + ".ckks"),
                sortedCopy(cells, byte[]::clone),
                epoch);
    }

    /** Bytes from another node: the same checks as a parsed request. */
    public CkksRescorePayload(StreamInput in) throws IOException {
        this(in, in.readFloatArray(), readParameters(in));
    }

    /** Reads the rest of the stream form: the cells (bounded by {@code params}) and the epoch. */
    private CkksRescorePayload(StreamInput in, float[] prefix, CkksParameters params) throws IOException {
        this(prefix, params, readCells(in, params), in.readOptionalVInt());
    }

    /** Keeps {@code prefix} and {@code sortedCells}; {@code params} are checked already. */
    private CkksRescorePayload(
            float[] prefix, CkksParameters params, TreeMap<Integer, byte[]> sortedCells, Integer epoch) {
        super(prefix, sortedCells, epoch);
        this.params = params;
        validateShape();
    }

    private static CkksParameters readParameters(StreamInput in) throws IOException {
        int polyDegree = in.readVInt();
        int nBits = in.readVInt();
        if (nBits > 16) {
            throw new IOException("too many coefficient moduli: " + nBits);
        }
        List<Integer> bits = new ArrayList<>(nBits);
        for (int i = 0; i < nBits; i++) {
            bits.add(in.readVInt());
        }
        return CkksContexts.check(polyDegree, bits, in.readVInt(), in.readVInt(), PATH + ".ckks");
    }

    private static TreeMap<Integer, byte[]> readCells(StreamInput in, CkksParameters params) throws IOException {
        int n = in.readVInt();
        if (n > MAX_CELLS) {
            throw new IOException("too many cells: " + n);
        }
        long max = maxCiphertextBytes(params);
        TreeMap<Integer, byte[]> map = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            int cell = in.readVInt();
            int length = in.readVInt();
            if (length < 0 || length > max) {
                throw new IOException("cell " + cell + ": ciphertext of " + length + " bytes exceeds " + max);
            }
            byte[] bytes = new byte[length];
            in.readBytes(bytes, 0, length);
            map.put(cell, bytes);
        }
        return map;
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeFloatArray(prefix());
        out.writeVInt(params.polyDegree());
        out.writeVInt(params.coeffModulusBits().size());
        for (int b : params.coeffModulusBits()) {
            out.writeVInt(b);
        }
        out.writeVInt(params.scaleBits());
        out.writeVInt(params.blockWidth());
        out.writeVInt(cells().size());
        for (Map.Entry<Integer, byte[]> e : cells().entrySet()) {
            out.writeVInt(e.getKey());
            out.writeVInt(e.getValue().length);
            out.writeBytes(e.getValue());
        }
        out.writeOptionalVInt(epoch());
    }

    @Override
    RescorePayloadErrors errors() {
        return ERRORS;
    }

    public static IllegalArgumentException bad(String path, String problem) {
        return new IllegalArgumentException(
                "[encrypted_knn] " + (path.startsWith("rescore.") ? path : PATH + "." + path) + ": " + problem);
    }

    /** The node's context for these parameters (native; the parameters are checked already). */
    public CkksContext context() {
        return CkksContexts.get(params);
    }

    /** Largest query ciphertext (wire form) accepted for {@code params}, from the native context (parameters checked first). */
    static long maxCiphertextBytes(CkksParameters params) {
        return CkksContexts.get(params).maxQueryWireBytes();
    }

    private void validateShape() {
        checkPrefixShape();
        if (cells().isEmpty()) {
            throw bad(PATH + ".cells", "at least one cell ciphertext is required in ckks mode");
        }
        checkCellCount(MAX_CELLS);
        checkEpoch();
        CkksScorer scorer = new CkksScorer(context());
        for (Map.Entry<Integer, byte[]> e : cells().entrySet()) {
            checkCellId(e.getKey());
            try {
                scorer.checkQueryBytes(e.getValue()); // Java-only: size bound + SEAL header
            } catch (HeException he) {
                throw bad(PATH + ".cells[" + e.getKey() + "]", he.getMessage());
            }
        }
    }

    /** Checks against the field's mapping (on the shard). */
    public void validate(EncryptedFieldSpec spec, int windowSize) {
        checkPrefixDimension(spec);
        if (params.blockWidth() < spec.residualDimension()) {
            throw bad(
                    PATH + ".ckks.block_width",
                    params.blockWidth() + " is smaller than the residual length of field [" + spec.field()
                            + "] (dimension - prefix_dimension = " + spec.residualDimension() + ")");
        }
        for (int cell : cells().keySet()) {
            if (cell >= spec.cells()) {
                throw bad(
                        PATH + ".cells[" + cell + "]",
                        "cell id is out of range: field [" + spec.field() + "] has cells [0, " + spec.cells() + ")");
            }
        }
        if (windowSize > MAX_WINDOW) {
            throw bad("rescore.window_size", windowSize + " exceeds the ckks-mode maximum of " + MAX_WINDOW);
        }
    }

    public CkksParameters parameters() {
        return params;
    }

    @Override
    String encodeCell(byte[] ciphertext) {
        return Base64.getEncoder().encodeToString(ciphertext);
    }

    @Override
    void modeFieldsToXContent(XContentBuilder builder) throws IOException {
        builder.startObject(RescoreQueryFormat.Query.CKKS);
        builder.field(RescoreQueryFormat.Ckks.POLY_DEGREE, params.polyDegree());
        builder.field(RescoreQueryFormat.Ckks.COEFF_MODULUS_BITS, params.coeffModulusBits());
        builder.field(RescoreQueryFormat.Ckks.SCALE_BITS, params.scaleBits());
        builder.field(RescoreQueryFormat.Ckks.BLOCK_WIDTH, params.blockWidth());
        builder.endObject();
    }

    /** Parses the object at the parser's current START_OBJECT. */
    public static CkksRescorePayload fromXContent(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw bad(PATH, "must be an object {\"prefix\":[…],\"cells\":{…},\"ckks\":{…}}");
        }
        float[] prefix = null;
        Map<Integer, Cell> cellValues = null;
        Integer epoch = null;
        CkksParameters params = null;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token != XContentParser.Token.FIELD_NAME) {
                throw bad(PATH, "is malformed");
            }
            String key = parser.currentName();
            token = parser.nextToken();
            switch (key) {
                case RescoreQueryFormat.Query.PREFIX ->
                    prefix = parseFloats(parser, PATH + ".prefix", MAX_VECTOR, ERRORS);
                case RescoreQueryFormat.Query.CELLS -> cellValues = parseCells(parser, ERRORS, MAX_CELLS, Cell.READER);
                case RescoreQueryFormat.Query.EPOCH -> epoch = parseInt(parser, PATH + ".epoch", 1, Integer.MAX_VALUE);
                case RescoreQueryFormat.Query.CKKS -> params = parseParams(parser);
                default ->
                    throw bad(PATH, "unknown key [" + key + "]; supported in ckks mode: prefix, cells, epoch, ckks");
            }
        }
        if (prefix == null) {
            throw bad(PATH + ".prefix", "is required");
        }
        if (params == null) {
            throw bad(
                    PATH + ".ckks",
                    "is required: {\"poly_degree\":…,\"coeff_modulus_bits\":[…],\"scale_bits\":…,\"block_width\":…}");
        }
        if (cellValues == null || cellValues.isEmpty()) {
            throw bad(PATH + ".cells", "at least one cell ciphertext is required in ckks mode");
        }
        // Sizes are bounded by the (now known and allowed) parameters before any base64 is decoded.
        long maxBytes = maxCiphertextBytes(params);
        long maxChars = 4 * ((maxBytes + 2) / 3);
        Map<Integer, byte[]> cells = new TreeMap<>();
        for (Map.Entry<Integer, Cell> e : cellValues.entrySet()) {
            String path = PATH + ".cells[" + e.getKey() + "]";
            byte[] bytes = e.getValue().bytes();
            if (bytes != null) {
                if (bytes.length > maxBytes) {
                    throw bad(
                            path,
                            "is " + bytes.length + " bytes; a query ciphertext for these parameters is at most "
                                    + maxBytes + " bytes");
                }
                cells.put(e.getKey(), bytes);
                continue;
            }
            String text = e.getValue().text();
            if (text.length() > maxChars) {
                throw bad(
                        path,
                        "is " + text.length()
                                + " base64 characters; a query ciphertext for these parameters is at most " + maxBytes
                                + " bytes (" + maxChars + " characters)");
            }
            try {
                cells.put(e.getKey(), Base64.getDecoder().decode(text));
            } catch (IllegalArgumentException iae) {
                throw bad(path, "is not valid base64");
            }
        }
        return new CkksRescorePayload(prefix, cells, epoch, params);
    }

    /** A cell's ciphertext as sent: base64 text (JSON) or raw bytes (CBOR, SMILE); checked once the parameters are known. */
    private record Cell(String text, byte[] bytes) {
        static final BinaryCellReader<Cell> READER = new BinaryCellReader<>() {
            @Override
            public Cell read(String text, String subject) {
                return new Cell(text, null);
            }

            @Override
            public Cell readBinary(byte[] bytes, String subject) {
                return new Cell(null, bytes);
            }
        };
    }

    private static CkksParameters parseParams(XContentParser parser) throws IOException {
        String path = PATH + ".ckks";
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw bad(
                    path,
                    "must be an object {\"poly_degree\":…,\"coeff_modulus_bits\":[…],\"scale_bits\":…,\"block_width\":…}");
        }
        Integer n = null;
        List<Integer> bits = null;
        Integer scale = null;
        Integer width = null;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token != XContentParser.Token.FIELD_NAME) {
                throw bad(path, "is malformed");
            }
            String key = parser.currentName();
            parser.nextToken();
            switch (key) {
                case RescoreQueryFormat.Ckks.POLY_DEGREE -> n = parseInt(parser, path + ".poly_degree", 1, 1 << 17);
                case RescoreQueryFormat.Ckks.SCALE_BITS -> scale = parseInt(parser, path + ".scale_bits", 1, 128);
                case RescoreQueryFormat.Ckks.BLOCK_WIDTH -> width = parseInt(parser, path + ".block_width", 1, 1 << 16);
                case RescoreQueryFormat.Ckks.COEFF_MODULUS_BITS -> {
                    float[] values = parseFloats(parser, path + ".coeff_modulus_bits", 16, ERRORS);
                    bits = new ArrayList<>();
                    for (float v : values) {
                        if (v != Math.rint(v) || v < 1 || v > 128) {
                            throw bad(path + ".coeff_modulus_bits", "must be small integers, got " + v);
                        }
                        bits.add((int) v);
                    }
                }
                default ->
                    throw bad(
                            path,
                            "unknown key [" + key
                                    + "]; supported: poly_degree, coeff_modulus_bits, scale_bits, block_width");
            }
        }
        if (n == null || bits == null || scale == null || width == null) {
            throw bad(path, "poly_degree, coeff_modulus_bits, scale_bits and block_width are all required");
        }
        return CkksContexts.check(n, bits, scale, width, path);
    }

    private static int parseInt(XContentParser parser, String path, int min, int max) throws IOException {
        long value = parseInteger(parser, path, ERRORS);
        if (value < min || value > max) {
            throw bad(path, "must be in [" + min + ", " + max + "], got " + value);
        }
        return (int) value;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CkksRescorePayload other && params.equals(other.params) && sameQuery(other);
    }

    @Override
    public int hashCode() {
        return queryHash() * 31 + params.hashCode();
    }

    /** True when a stored residual record can be packed into a block of this query's parameters. */
    public boolean residualFits(ResidualLayout.Residual record) {
        int length = record.length();
        return length >= 1 && length <= parameters().blockWidth();
    }
}
