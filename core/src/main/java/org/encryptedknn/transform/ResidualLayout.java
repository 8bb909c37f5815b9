package org.encryptedknn.transform;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.encryptedknn.keys.RecordSeal;

/**
 * The one owner of the record's binary forms: the doc values the plugin's mapper writes (design.md §5.2) and the
 * per-hit record a search returns (design.md §5.3), all little-endian:
 *
 * <ul>
 *   <li>residual: {@code [version u8 = 1][cell int32][epoch int32][z float32 × L]} (L = the stored residual length);
 *       of a sealed record {@code [version u8 = 2][epoch int32][s]} (s = the vector sealed, ciphertext ‖ tag);
 *   <li>nonce: {@code [version u8 = 1][n, 16 bytes]};
 *   <li>hit record: {@code [version u8 = 1][cell int32][epoch int32][n, 16 bytes][d_pub int32][p float32 × d_pub]
 *       [z float32 × L, or nothing]}, of a sealed record {@code [version u8 = 2][epoch int32][n, 16 bytes][s]} (no p:
 *       the key holder scores it from s): what a key holder needs to score one hit, read from the doc values and the
 *       prefix vector, never from {@code _source} ({@link #encodeHitRecord}, {@link #hitRecord}).
 * </ul>
 *
 * <p>Readers take a slice ({@code bytes, offset, length}) so a Lucene {@code BytesRef} is read in place. The first
 * layouts had no version byte ({@code [cell][epoch][z]}, and the bare 16 nonce bytes); they are still read: a versioned
 * residual has length ≡ 1 (mod 4) and an unversioned one ≡ 0, and a versioned nonce is 17 bytes, not 16, so the length
 * alone tells them apart. Any other version or length is refused with a message saying to re-index.
 */
public final class ResidualLayout {

    /** The version byte written today. */
    public static final byte VERSION = 1;

    /** The version byte of the per-hit record written today. */
    public static final byte HIT_RECORD_VERSION = 1;

    /** The version byte of a sealed record's residual doc value and per-hit record. */
    public static final byte SEALED_VERSION = 2;

    private static final int HEADER_BYTES = 1 + 2 * Integer.BYTES;
    private static final int HIT_HEADER_BYTES = 1 + 2 * Integer.BYTES + RecordFormat.NONCE_BYTES + Integer.BYTES;
    private static final int UNVERSIONED_HEADER_BYTES = 2 * Integer.BYTES;
    private static final int SEALED_HEADER_BYTES = 1 + Integer.BYTES;
    private static final int SEALED_HIT_HEADER_BYTES = 1 + Integer.BYTES + RecordFormat.NONCE_BYTES;

    private ResidualLayout() {}

    /** The residual doc value of a record. */
    public static byte[] encodeResidual(int cell, int epoch, float[] z) {
        ByteBuffer buffer =
                ByteBuffer.allocate(HEADER_BYTES + z.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put(VERSION).putInt(cell).putInt(epoch);
        buffer.asFloatBuffer().put(z);
        return buffer.array();
    }

    /** The residual doc value of a sealed record: its epoch and s. */
    public static byte[] encodeSealed(int epoch, byte[] sealed) {
        ByteBuffer buffer =
                ByteBuffer.allocate(SEALED_HEADER_BYTES + sealed.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put(SEALED_VERSION).putInt(epoch).put(sealed);
        return buffer.array();
    }

    /** The nonce doc value of a record. */
    public static byte[] encodeNonce(byte[] nonce) {
        byte[] out = new byte[1 + nonce.length];
        out[0] = VERSION;
        System.arraycopy(nonce, 0, out, 1, nonce.length);
        return out;
    }

    /** The SAP nonce from a nonce doc value (versioned or the first, bare form). */
    public static byte[] nonce(byte[] bytes, int offset, int length) {
        if (length == RecordFormat.NONCE_BYTES) {
            return Arrays.copyOfRange(bytes, offset, offset + length);
        }
        if (length == RecordFormat.NONCE_BYTES + 1 && bytes[offset] == VERSION) {
            return Arrays.copyOfRange(bytes, offset + 1, offset + length);
        }
        throw unreadable("nonce", length, length > 0 ? bytes[offset] : 0);
    }

    /**
     * A residual doc value read in place: header fields and the z values (or a sealed record's s) without copying the
     * record.
     */
    public static Residual residual(byte[] bytes, int offset, int length) {
        int header;
        boolean sealed = false;
        if (length % Float.BYTES == 0 && length >= UNVERSIONED_HEADER_BYTES) {
            header = UNVERSIONED_HEADER_BYTES;
        } else if (length % Float.BYTES == 1 && length >= HEADER_BYTES && bytes[offset] == VERSION) {
            header = HEADER_BYTES;
        } else if (length % Float.BYTES == 1
                && length >= SEALED_HEADER_BYTES + RecordSeal.TAG_BYTES
                && bytes[offset] == SEALED_VERSION) {
            header = SEALED_HEADER_BYTES;
            sealed = true;
        } else {
            throw unreadable("residual", length, length > 0 ? bytes[offset] : 0);
        }
        return new Residual(
                ByteBuffer.wrap(bytes, offset, length).order(ByteOrder.LITTLE_ENDIAN), offset + header, sealed);
    }

    /**
     * The per-hit record of a stored record: its residual doc value {@code residual} (read in place), nonce {@code n}
     * and prefix {@code p}; z is copied byte for byte when {@code withZ} (a key holder scores the hit from it), left
     * out when the hit's residual term travels otherwise (computed on the node, or in a CKKS batch). A sealed record's
     * s is always copied, and its p never ({@code p} may be null): only the key holder can score it, from s.
     */
    public static byte[] encodeHitRecord(Residual residual, byte[] nonce, float[] p, boolean withZ) {
        if (nonce.length != RecordFormat.NONCE_BYTES) {
            throw new IllegalArgumentException("nonce must be " + RecordFormat.NONCE_BYTES + " bytes");
        }
        if (residual.sealed) {
            int sBytes = residual.buffer.limit() - residual.zStart;
            ByteBuffer out =
                    ByteBuffer.allocate(SEALED_HIT_HEADER_BYTES + sBytes).order(ByteOrder.LITTLE_ENDIAN);
            out.put(SEALED_VERSION).putInt(residual.epoch()).put(nonce);
            System.arraycopy(residual.buffer.array(), residual.zStart, out.array(), SEALED_HIT_HEADER_BYTES, sBytes);
            return out.array();
        }
        int zBytes = withZ ? residual.length() * Float.BYTES : 0;
        ByteBuffer out = ByteBuffer.allocate(HIT_HEADER_BYTES + p.length * Float.BYTES + zBytes)
                .order(ByteOrder.LITTLE_ENDIAN);
        out.put(HIT_RECORD_VERSION).putInt(residual.cell()).putInt(residual.epoch());
        out.put(nonce).putInt(p.length);
        out.asFloatBuffer().put(p);
        if (withZ) {
            System.arraycopy(residual.buffer.array(), residual.zStart, out.array(), out.capacity() - zBytes, zBytes);
        }
        return out.array();
    }

    /**
     * Reads a per-hit record; {@code residualLength} is the key holder's model's L, the length of the zeros that stand
     * in for a z the record does not carry ({@link HitRecord#hasResidual()} false). A record of another version or a
     * length that does not add up is refused (IllegalArgumentException); lengths that do not fit the model are the
     * transform's to refuse.
     */
    public static HitRecord hitRecord(byte[] bytes, int residualLength) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length > 0 && bytes[0] == SEALED_VERSION) {
            return sealedHitRecord(bytes, in);
        }
        if (bytes.length < HIT_HEADER_BYTES || bytes[0] != HIT_RECORD_VERSION) {
            throw new IllegalArgumentException("unreadable per-hit record (" + bytes.length + " bytes, first byte "
                    + (bytes.length > 0 ? bytes[0] & 0xff : 0) + "): expected version " + HIT_RECORD_VERSION
                    + " or " + SEALED_VERSION);
        }
        int cell = in.getInt(1);
        int epoch = in.getInt(1 + Integer.BYTES);
        byte[] nonce = Arrays.copyOfRange(bytes, 1 + 2 * Integer.BYTES, HIT_HEADER_BYTES - Integer.BYTES);
        int prefixLength = in.getInt(HIT_HEADER_BYTES - Integer.BYTES);
        long zBytesLong = (long) bytes.length - HIT_HEADER_BYTES - (long) prefixLength * Float.BYTES;
        int zBytes = (int) zBytesLong;
        if (prefixLength < 1 || zBytesLong < 0 || zBytes % Float.BYTES != 0) {
            throw new IllegalArgumentException("unreadable per-hit record: " + bytes.length + " bytes for a prefix of "
                    + prefixLength + " values");
        }
        float[] p = new float[prefixLength];
        in.position(HIT_HEADER_BYTES);
        in.asFloatBuffer().get(p);
        float[] z = new float[zBytes == 0 ? residualLength : zBytes / Float.BYTES];
        if (zBytes > 0) {
            in.position(HIT_HEADER_BYTES + prefixLength * Float.BYTES);
            in.asFloatBuffer().get(z);
        }
        return new HitRecord(new EncryptedVector(p, nonce, cell, z, epoch), zBytes > 0);
    }

    /** The sealed per-hit record (no p); the length of s is the transform's to check against the model. */
    private static HitRecord sealedHitRecord(byte[] bytes, ByteBuffer in) {
        if (bytes.length < SEALED_HIT_HEADER_BYTES + RecordSeal.TAG_BYTES) {
            throw new IllegalArgumentException("unreadable sealed per-hit record: " + bytes.length + " bytes");
        }
        int epoch = in.getInt(1);
        byte[] nonce = Arrays.copyOfRange(bytes, 1 + Integer.BYTES, SEALED_HIT_HEADER_BYTES);
        byte[] s = Arrays.copyOfRange(bytes, SEALED_HIT_HEADER_BYTES, bytes.length);
        return new HitRecord(EncryptedVector.sealed(new float[0], nonce, s, epoch), false);
    }

    /**
     * A decoded per-hit record; without z ({@code hasResidual} false) the vector holds zeros in its place. A sealed
     * record has no z ({@code hasResidual} false) and is scored whole ({@link VectorTransform#sealedScore}).
     */
    public record HitRecord(EncryptedVector vector, boolean hasResidual) {}

    private static IllegalStateException unreadable(String what, int length, byte first) {
        return new IllegalStateException("unreadable " + what + " doc value (" + length + " bytes, first byte "
                + (first & 0xff) + "): written by a newer version of encrypted-knn, or corrupt; re-index the documents"
                + " with this version");
    }

    /** One residual doc value: a keyed record's cell, epoch and z, or a sealed record's epoch and s. */
    public static final class Residual {
        private final ByteBuffer buffer;
        private final int zStart;
        private final boolean sealed;

        private Residual(ByteBuffer buffer, int zStart, boolean sealed) {
            this.buffer = buffer;
            this.zStart = zStart;
            this.sealed = sealed;
        }

        /** True for a sealed record: no cell, no z; nothing on the data node can score its residual. */
        public boolean isSealed() {
            return sealed;
        }

        /** The record's cell; {@link EncryptedVector#NO_CELL} for a sealed record. */
        public int cell() {
            return sealed ? EncryptedVector.NO_CELL : buffer.getInt(zStart - 2 * Integer.BYTES);
        }

        public int epoch() {
            return buffer.getInt(zStart - Integer.BYTES);
        }

        /** d − d_pub, the number of z values; 0 for a sealed record. */
        public int length() {
            return sealed ? 0 : (buffer.limit() - zStart) / Float.BYTES;
        }

        /** A sealed record's s (a copy). */
        public byte[] sealed() {
            if (!sealed) {
                throw new IllegalStateException("a keyed record has no sealed part");
            }
            return Arrays.copyOfRange(buffer.array(), zStart, buffer.limit());
        }

        public float[] z() {
            float[] z = new float[length()];
            for (int i = 0; i < z.length; i++) {
                z[i] = buffer.getFloat(zStart + i * Float.BYTES);
            }
            return z;
        }

        /** ⟨query, z⟩ straight from the bytes, accumulated in double; {@code query} has {@link #length()} values. */
        public double dot(float[] query) {
            if (sealed) {
                throw new IllegalStateException("a sealed record has no z to score");
            }
            double sum = 0;
            for (int i = 0; i < query.length; i++) {
                sum += (double) query[i] * buffer.getFloat(zStart + i * Float.BYTES);
            }
            return sum;
        }
    }
}
