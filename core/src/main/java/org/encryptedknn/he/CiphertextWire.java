package org.encryptedknn.he;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The wire form of the CKKS ciphertexts that cross the network (query up, results down).
 *
 * <p>SEAL's uncompressed serialization stores every coefficient in a 64-bit word although each is below its prime
 * (50 bits with the default parameters); zstd would recover part of that at ≈ 0.3 ms per ciphertext. This packing
 * keeps only the significant bits, in microseconds: the serialization is read as little-endian 64-bit words from the
 * byte offset {@code head} (0..7, chosen by the packer so that the words are the coefficients: the metadata before
 * them and a seed after them need not be a multiple of 8 bytes), in groups of {@value #GROUP}; each group is stored
 * as one byte {@code w}, the bit length of its widest word, followed by its words in {@code w} bits each (LSB first,
 * the group padded to a whole byte with zero bits). The bytes after the last whole word travel as they are.
 *
 * <pre>"EKW1" | u32 LE length of the SEAL bytes | u8 head | head bytes | groups | (length − head) mod 8 bytes</pre>
 *
 * <p>{@link #unpack} reads untrusted bytes: every length is bounded before anything is allocated; trailing bytes and
 * non-zero padding bits are refused.
 */
public final class CiphertextWire {

    static final int GROUP = 64;
    private static final byte[] MAGIC = {'E', 'K', 'W', '1'};
    private static final int PREAMBLE = MAGIC.length + Integer.BYTES + 1;

    private CiphertextWire() {}

    /** The largest wire form of SEAL bytes of at most {@code maxRawBytes}: every word at 64 bits, one width byte a group. */
    public static long maxWireBytes(long maxRawBytes) {
        long words = maxRawBytes / Long.BYTES;
        return PREAMBLE + Long.BYTES + maxRawBytes + (words + GROUP - 1) / GROUP;
    }

    /**
     * Packs a SEAL serialization (as the native library returns it) into its wire form, at the word alignment that
     * makes the words in its middle (coefficients) narrowest.
     */
    public static byte[] pack(byte[] raw) {
        int best = 0;
        int bestWidth = Integer.MAX_VALUE;
        int middle = raw.length / 2 / Long.BYTES * Long.BYTES;
        for (int head = 0; head < Long.BYTES && head <= raw.length; head++) {
            int sample = Math.max(0, Math.min(GROUP, (raw.length - middle - head) / Long.BYTES));
            int width = groupWidth(raw, middle + head, 0, sample);
            if (width < bestWidth) {
                bestWidth = width;
                best = head;
            }
        }
        return pack(raw, best);
    }

    private static int groupWidth(byte[] raw, int head, int g, int n) {
        long or = 0;
        for (int i = 0; i < n; i++) {
            or |= word(raw, head + (g + i) * Long.BYTES);
        }
        return Long.SIZE - Long.numberOfLeadingZeros(or);
    }

    private static byte[] pack(byte[] raw, int head) {
        int words = (raw.length - head) / Long.BYTES;
        int tail = raw.length - head - words * Long.BYTES;
        byte[] out = new byte[(int) maxWireBytes(raw.length)];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        putInt(out, MAGIC.length, raw.length);
        out[PREAMBLE - 1] = (byte) head;
        System.arraycopy(raw, 0, out, PREAMBLE, head);
        BitWriter w = new BitWriter(out, PREAMBLE + head);
        for (int g = 0; g < words; g += GROUP) {
            int n = Math.min(GROUP, words - g);
            int width = groupWidth(raw, head, g, n);
            w.byteAligned(width);
            for (int i = 0; i < n; i++) {
                w.put(word(raw, head + (g + i) * Long.BYTES), width);
            }
            w.flush();
        }
        System.arraycopy(raw, raw.length - tail, out, w.pos, tail);
        return java.util.Arrays.copyOf(out, w.pos + tail);
    }

    /**
     * Unpacks untrusted wire bytes into the SEAL serialization, which then goes through the usual checks
     * ({@link SealHeader#check}, the native validating load). {@link HeException.Kind#MALFORMED} naming {@code what}
     * when the bytes are not a well-formed wire form of at most {@code maxRawBytes} SEAL bytes.
     */
    public static byte[] unpack(byte[] wire, long maxRawBytes, String what) {
        if (wire == null) {
            throw malformed(what, "null");
        }
        if (wire.length > maxWireBytes(maxRawBytes)) {
            throw malformed(
                    what,
                    wire.length + " bytes exceeds the maximum of " + maxWireBytes(maxRawBytes)
                            + " for these parameters");
        }
        if (wire.length < PREAMBLE || !java.util.Arrays.equals(wire, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw malformed(what, "not an encrypted-knn ciphertext (expected the EKW1 wire form)");
        }
        long length = Integer.toUnsignedLong(getInt(wire, MAGIC.length));
        if (length > maxRawBytes) {
            throw malformed(
                    what,
                    "declares " + length + " bytes, more than the maximum of " + maxRawBytes + " for these parameters");
        }
        int head = wire[PREAMBLE - 1];
        if (head < 0 || head >= Long.BYTES || head > length) {
            throw malformed(what, "word offset " + head + " out of range");
        }
        int words = (int) ((length - head) / Long.BYTES);
        int tail = (int) (length - head - (long) words * Long.BYTES);
        if (wire.length < PREAMBLE + head) {
            throw malformed(what, "truncated");
        }
        byte[] raw = new byte[(int) length];
        System.arraycopy(wire, PREAMBLE, raw, 0, head);
        BitReader r = new BitReader(wire, PREAMBLE + head, what);
        for (int g = 0; g < words; g += GROUP) {
            int n = Math.min(GROUP, words - g);
            int width = r.widthByte();
            for (int i = 0; i < n; i++) {
                putWord(raw, head + (g + i) * Long.BYTES, r.get(width));
            }
            r.endGroup();
        }
        if (wire.length - r.pos != tail) {
            throw malformed(
                    what, wire.length - r.pos < tail ? "truncated" : (wire.length - r.pos - tail) + " trailing bytes");
        }
        System.arraycopy(wire, r.pos, raw, raw.length - tail, tail);
        return raw;
    }

    private static HeException malformed(String what, String problem) {
        return new HeException(HeException.Kind.MALFORMED, what + ": " + problem);
    }

    private static final VarHandle LE_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private static long word(byte[] b, int off) {
        return (long) LE_LONG.get(b, off);
    }

    private static void putWord(byte[] b, int off, long v) {
        LE_LONG.set(b, off, v);
    }

    private static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    private static void putInt(byte[] b, int off, int v) {
        for (int i = 0; i < Integer.BYTES; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }

    /** LSB-first bit output; {@link #flush} pads the current group to a whole byte. */
    private static final class BitWriter {
        private final byte[] out;
        private int pos;
        private long acc;
        private int bits; // < 8 between calls

        BitWriter(byte[] out, int pos) {
            this.out = out;
            this.pos = pos;
        }

        void byteAligned(int value) {
            out[pos++] = (byte) value;
        }

        /** Writes the low {@code width} (≤ 64) bits of {@code v}, which has no higher bits set. */
        void put(long v, int width) {
            if (width > 32) {
                put32(v & 0xffff_ffffL, 32);
                put32(v >>> 32, width - 32);
            } else {
                put32(v, width);
            }
        }

        private void put32(long v, int width) {
            acc |= v << bits; // bits < 8, width ≤ 32: fits
            bits += width;
            while (bits >= 8) {
                out[pos++] = (byte) acc;
                acc >>>= 8;
                bits -= 8;
            }
        }

        void flush() {
            if (bits > 0) {
                out[pos++] = (byte) acc;
            }
            acc = 0;
            bits = 0;
        }
    }

    /** The reading side of {@link BitWriter}, bounds-checked. */
    private static final class BitReader {
        private final byte[] in;
        private final String what;
        private int pos;
        private long acc;
        private int bits;

        BitReader(byte[] in, int pos, String what) {
            this.in = in;
            this.pos = pos;
            this.what = what;
        }

        int widthByte() {
            if (pos >= in.length) {
                throw malformed(what, "truncated");
            }
            int w = in[pos++] & 0xff;
            if (w > Long.SIZE) {
                throw malformed(what, "group width " + w + " exceeds 64 bits");
            }
            return w;
        }

        long get(int width) {
            if (width > 32) {
                long low = get32(32);
                return low | get32(width - 32) << 32;
            }
            return get32(width);
        }

        private long get32(int width) {
            while (bits < width) {
                if (pos >= in.length) {
                    throw malformed(what, "truncated");
                }
                acc |= (long) (in[pos++] & 0xff) << bits; // bits < 32: fits
                bits += 8;
            }
            long v = acc & ((1L << width) - 1);
            acc >>>= width;
            bits -= width;
            return v;
        }

        void endGroup() {
            if (acc != 0) {
                throw malformed(what, "non-zero padding bits");
            }
            bits = 0;
        }
    }
}
