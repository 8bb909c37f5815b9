package org.encryptedknn.mapper;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.lucene.util.BytesRef;

/**
 * The binary doc value {@code <field>._residual} the rescorer reads: {@code [cell int32][epoch int32][z float32 × (d − d_pub)]},
 * all little-endian. One compact record per document, so keyed rescoring touches one doc value per hit instead of
 * parsing {@code _source}.
 */
public final class ResidualDocValues {

    /** Suffix of the binary doc-values field holding cell, epoch and keyed residual. */
    public static final String RESIDUAL_SUFFIX = "._residual";
    /** Suffix of the binary doc-values field holding the SAP nonce n (for the per-hit field of search responses). */
    public static final String NONCE_SUFFIX = "._nonce";
    /** Suffix of the int field (points + doc values) holding the key epoch, for epoch filters. */
    public static final String EPOCH_SUFFIX = "._epoch";

    public static final int HEADER_BYTES = 2 * Integer.BYTES;

    private ResidualDocValues() {}

    public static String residualField(String field) {
        return field + RESIDUAL_SUFFIX;
    }

    public static String nonceField(String field) {
        return field + NONCE_SUFFIX;
    }

    public static String epochField(String field) {
        return field + EPOCH_SUFFIX;
    }

    public static byte[] encode(int cell, int epoch, float[] z) {
        ByteBuffer buffer =
                ByteBuffer.allocate(HEADER_BYTES + z.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(cell).putInt(epoch);
        for (float v : z) {
            buffer.putFloat(v);
        }
        return buffer.array();
    }

    public static int cell(BytesRef value) {
        return ByteBuffer.wrap(value.bytes, value.offset, value.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .getInt();
    }

    public static int epoch(BytesRef value) {
        return ByteBuffer.wrap(value.bytes, value.offset + Integer.BYTES, value.length - Integer.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN)
                .getInt();
    }

    /** Number of residual floats in the record. */
    public static int residualLength(BytesRef value) {
        return (value.length - HEADER_BYTES) / Float.BYTES;
    }

    /** ⟨query, z⟩ straight from the record, accumulated in double. */
    public static double dotResidual(BytesRef value, float[] query) {
        ByteBuffer buffer = ByteBuffer.wrap(value.bytes, value.offset + HEADER_BYTES, value.length - HEADER_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        double sum = 0;
        for (float q : query) {
            sum += (double) q * buffer.getFloat();
        }
        return sum;
    }

    public static float[] residual(BytesRef value) {
        ByteBuffer buffer = ByteBuffer.wrap(value.bytes, value.offset + HEADER_BYTES, value.length - HEADER_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        float[] z = new float[residualLength(value)];
        buffer.asFloatBuffer().get(z);
        return z;
    }

    static float[] floatsLittleEndian(byte[] bytes) {
        float[] values = new float[bytes.length / Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
