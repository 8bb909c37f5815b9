package org.encryptedknn.transform;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * One encrypted embedding, as it is stored: {@code {"p":[…],"n":"<b64>","c":17,"z":"<b64>","e":1}} in documents
 * ({@link RecordFormat}) and doc values ({@link ResidualLayout}).
 *
 * @param prefix        p: the SAP ciphertext of the rotated stage-1 prefix (indexed by HNSW, L2)
 * @param nonce         n: the SAP nonce; the key holder regenerates the noise from it to decrypt p
 * @param cell          c: the k-means cell of the prefix, which selects the residual key H_c
 * @param keyedResidual z: H_c r, the residual under the cell key (little-endian float32 on the wire)
 * @param epoch         e: the key epoch the record was encrypted under (starts at 1)
 */
public record EncryptedVector(float[] prefix, byte[] nonce, int cell, float[] keyedResidual, int epoch) {

    public EncryptedVector {
        Objects.requireNonNull(prefix, RecordFormat.PREFIX);
        Objects.requireNonNull(nonce, RecordFormat.NONCE);
        Objects.requireNonNull(keyedResidual, RecordFormat.KEYED_RESIDUAL);
    }

    /** Base64 of the little-endian float32 encoding, the wire form of {@code z}. */
    public static String encodeFloats(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return Base64.getEncoder().encodeToString(buffer.array());
    }

    /** Inverse of {@link #encodeFloats}; throws IllegalArgumentException on bad base64 or a length not a multiple of 4. */
    public static float[] decodeFloats(String base64) {
        byte[] bytes = Base64.getDecoder().decode(base64);
        if (bytes.length % Float.BYTES != 0) {
            throw new IllegalArgumentException("length " + bytes.length + " is not a multiple of 4 bytes");
        }
        return floatsLittleEndian(bytes);
    }

    static float[] floatsLittleEndian(byte[] bytes) {
        float[] values = new float[bytes.length / Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof EncryptedVector that
                && cell == that.cell
                && epoch == that.epoch
                && Arrays.equals(prefix, that.prefix)
                && Arrays.equals(nonce, that.nonce)
                && Arrays.equals(keyedResidual, that.keyedResidual);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                cell, epoch, Arrays.hashCode(prefix), Arrays.hashCode(nonce), Arrays.hashCode(keyedResidual));
    }

    @Override
    public String toString() {
        // Lengths only: the ciphertext itself is not for logs.
        return "EncryptedVector[p=" + prefix.length + " floats, c=" + cell + ", z=" + keyedResidual.length
                + " floats, e=" + epoch + "]";
    }
}
