package org.encryptedknn.he;

/**
 * Java-side check of a SEAL serialization header before any native call. The 16-byte
 * header is: magic 0xA15E (u16 LE), header size 0x10, version major, minor, compression mode
 * (0 none, 1 zlib, 2 zstd), reserved u16 = 0, total size u64 LE. We accept SEAL 4.1 (what the
 * library writes) and 4.0 (keys and queries of its earlier SEAL 4.0 build, same layout), uncompressed
 * only (we never produce compressed forms, and a decompressor is attack surface), and require the
 * size field to equal the byte count. The native side repeats these checks, checks the parameter
 * id, prime count and scale, and only then lets SEAL's validating load parse the rest.
 */
public final class SealHeader {

    public static final int SIZE = 16;
    static final int MAGIC = 0xA15E;
    public static final int COMPR_NONE = 0;
    /** Refused; tests and the fuzzer forge it. */
    public static final int COMPR_ZSTD = 2;
    /** The SEAL version the native library writes (4.1); 4.0 is read too. */
    static final int VERSION_MAJOR = 4;

    static final int VERSION_MINOR = 1;

    private SealHeader() {}

    /**
     * Writes a SEAL 4.1 header with the given compression mode and size field into the first 16 bytes of
     * {@code data}: the one definition of the layout {@link #check} reads, for tests and the fuzzer that forge inputs.
     */
    public static void write(byte[] data, int compression, long sizeField) {
        data[0] = (byte) MAGIC;
        data[1] = (byte) (MAGIC >>> 8);
        data[2] = SIZE;
        data[3] = VERSION_MAJOR;
        data[4] = VERSION_MINOR;
        data[5] = (byte) compression;
        data[6] = 0;
        data[7] = 0;
        for (int i = 0; i < 8; i++) {
            data[8 + i] = (byte) (sizeField >>> (8 * i));
        }
    }

    static void check(byte[] data, long maxBytes, String what) {
        if (data == null) {
            throw new HeException(HeException.Kind.MALFORMED, what + ": null");
        }
        if (data.length < SIZE) {
            throw new HeException(
                    HeException.Kind.MALFORMED, what + ": " + data.length + " bytes is shorter than a SEAL header");
        }
        if (data.length > maxBytes) {
            throw new HeException(
                    HeException.Kind.MALFORMED,
                    what + ": " + data.length + " bytes exceeds the maximum of " + maxBytes + " for these parameters");
        }
        int magic = (data[0] & 0xff) | (data[1] & 0xff) << 8;
        if (magic != MAGIC || (data[2] & 0xff) != SIZE) {
            throw new HeException(HeException.Kind.MALFORMED, what + ": not a SEAL serialization");
        }
        if (data[3] != VERSION_MAJOR || (data[4] != 0 && data[4] != VERSION_MINOR)) {
            throw new HeException(
                    HeException.Kind.MALFORMED,
                    what + ": SEAL version " + data[3] + "." + data[4] + " (need 4.0 or 4.1)");
        }
        if (data[6] != 0 || data[7] != 0) {
            throw new HeException(HeException.Kind.MALFORMED, what + ": reserved header field is not zero");
        }
        long size = 0;
        for (int i = 15; i >= 8; i--) {
            size = size << 8 | (data[i] & 0xff);
        }
        if (size != data.length) {
            throw new HeException(
                    HeException.Kind.MALFORMED,
                    what + ": header size " + Long.toUnsignedString(size) + " does not match the " + data.length
                            + " bytes given");
        }
        int compr = data[5] & 0xff;
        if (compr != COMPR_NONE) {
            throw new HeException(
                    HeException.Kind.MALFORMED,
                    what + ": compression mode " + compr + " is not accepted (uncompressed only)");
        }
    }
}
