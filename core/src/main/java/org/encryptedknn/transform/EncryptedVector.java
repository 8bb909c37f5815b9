package org.encryptedknn.transform;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * One encrypted embedding, as it is stored, in one of two forms ({@link RecordFormat}, docs/design.md §5.1): keyed,
 * {@code {"p":[…],"n":"<b64>","c":17,"z":"<b64>","e":1}}, or sealed, {@code {"p":[…],"n":"<b64>","s":"<b64>","e":1}};
 * in documents ({@link RecordFormat}) and doc values ({@link ResidualLayout}).
 *
 * @param prefix        p: the SAP ciphertext of the rotated stage-1 prefix (indexed by HNSW, L2)
 * @param nonce         n: the SAP nonce; the key holder regenerates the noise from it to decrypt p (and a sealed
 *                      record's IV)
 * @param cell          c: the k-means cell of the prefix, which selects the residual key H_c; -1 for a sealed record
 * @param keyedResidual z: H_c r, the residual under the cell key (little-endian float32 on the wire); empty for a
 *                      sealed record
 * @param epoch         e: the key epoch the record was encrypted under (starts at 1)
 * @param sealed        s: AES-256-GCM of the whole vector under the epoch's sealed-record key (ciphertext ‖ tag), or
 *                      null for a keyed record
 */
public record EncryptedVector(float[] prefix, byte[] nonce, int cell, float[] keyedResidual, int epoch, byte[] sealed) {

    /** The cell of a sealed record, which has none. */
    public static final int NO_CELL = -1;

    public EncryptedVector {
        Objects.requireNonNull(prefix, RecordFormat.PREFIX);
        Objects.requireNonNull(nonce, RecordFormat.NONCE);
        Objects.requireNonNull(keyedResidual, RecordFormat.KEYED_RESIDUAL);
        if (sealed != null && (cell != NO_CELL || keyedResidual.length != 0)) {
            throw new IllegalArgumentException("a sealed record has no cell and no z");
        }
    }

    /** A keyed record. */
    public EncryptedVector(float[] prefix, byte[] nonce, int cell, float[] keyedResidual, int epoch) {
        this(prefix, nonce, cell, keyedResidual, epoch, null);
    }

    /** A sealed record: p, n, s, e. */
    public static EncryptedVector sealed(float[] prefix, byte[] nonce, byte[] sealed, int epoch) {
        return new EncryptedVector(prefix, nonce, NO_CELL, new float[0], epoch, Objects.requireNonNull(sealed, "s"));
    }

    /** True for the sealed form ({@link #sealed()} non-null: no cell, no z). */
    public boolean isSealed() {
        return sealed != null;
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
                && Arrays.equals(keyedResidual, that.keyedResidual)
                && Arrays.equals(sealed, that.sealed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                cell,
                epoch,
                Arrays.hashCode(prefix),
                Arrays.hashCode(nonce),
                Arrays.hashCode(keyedResidual),
                Arrays.hashCode(sealed));
    }

    @Override
    public String toString() {
        // Lengths only: the ciphertext itself is not for logs.
        if (sealed != null) {
            return "EncryptedVector[p=" + prefix.length + " floats, s=" + sealed.length + " bytes, e=" + epoch + "]";
        }
        return "EncryptedVector[p=" + prefix.length + " floats, c=" + cell + ", z=" + keyedResidual.length
                + " floats, e=" + epoch + "]";
    }
}
