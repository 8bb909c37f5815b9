package org.encryptedknn.he;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;

/** Helpers around {@link SealLibrary}: status checks, returned buffers, scratch memory. */
final class Natives {

    private Natives() {}

    static SealLibrary lib() {
        return SealLibrary.Holder.get();
    }

    /** Throws {@link HeException} with the native thread-local message when {@code rc != 0}. */
    static void check(int rc, String what) {
        if (rc != 0) {
            byte[] buf = new byte[1024];
            long n = lib().eks_last_error(buf, buf.length);
            int len = (int) Math.min(n, buf.length - 1);
            String msg = new String(buf, 0, Math.max(len, 0), StandardCharsets.UTF_8);
            throw new HeException(HeException.Kind.of(rc), rc, what + ": " + msg, null);
        }
    }

    /** Copies a library-owned buffer into a Java array and frees (zeroes) the native one. */
    static byte[] take(PointerByReference data, LongByReference len) {
        Pointer p = data.getValue();
        long n = len.getValue();
        if (p == null) {
            throw new HeException(HeException.Kind.SEAL, "native call returned no buffer");
        }
        try {
            if (n < 0 || n > Integer.MAX_VALUE - 16) {
                throw new HeException(HeException.Kind.SEAL, "native buffer of " + n + " bytes");
            }
            return p.getByteArray(0, (int) n);
        } finally {
            lib().eks_bytes_free(p, n);
        }
    }

    /** Native scratch copy of sensitive floats; {@link #wipe(Memory)} it after the call. */
    static Memory floats(float[] v) {
        Memory m = new Memory((long) Math.max(1, v.length) * Float.BYTES);
        m.write(0, v, 0, v.length);
        return m;
    }

    static Memory bytes(byte[] v) {
        Memory m = new Memory(Math.max(1, v.length));
        m.write(0, v, 0, v.length);
        return m;
    }

    /** Zeroes and releases scratch memory (JNA's own array marshalling would not zero it). */
    static void wipe(Memory m) {
        if (m != null) {
            m.clear();
            m.close();
        }
    }
}
