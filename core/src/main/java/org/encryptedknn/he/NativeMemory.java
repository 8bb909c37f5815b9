package org.encryptedknn.he;

/**
 * Native resource accounting of the CKKS layer, for the stats endpoint and for leak tests.
 *
 * <p>{@link #inUse()} is the bytes currently held by SEAL's global memory pool plus the bytes of
 * buffers the library has returned and not yet freed. SEAL's pool grows to a high-water mark and
 * then reuses its allocations (it never returns memory to the OS), so a steady state is flat.
 */
public final class NativeMemory {

    private NativeMemory() {}

    /** One snapshot of the native counters. */
    public record Stats(
            long liveHandles,
            long liveJavaHandles,
            long leakedHandles,
            long liveBuffers,
            long liveBufferBytes,
            long sealPoolBytes,
            long handlesCreated) {
        public long inUse() {
            return sealPoolBytes + liveBufferBytes;
        }
    }

    /** Current counters (native and Java side). */
    public static Stats stats() {
        long[] o = new long[5];
        Natives.check(Natives.lib().eks_stats(o), "stats");
        return new Stats(o[0], NativeHandle.LIVE.get(), NativeHandle.LEAKED.get(), o[1], o[2], o[3], o[4]);
    }

    /** Native bytes in use: SEAL pool + live returned buffers. */
    public static long inUse() {
        return stats().inUse();
    }

    /** Native handles (contexts, keys, key holders, loaded ciphertexts) not yet freed. */
    public static long liveHandles() {
        return stats().liveHandles();
    }

    /** Handles that were freed by the Cleaner because their owner was never closed. */
    public static long leakedHandles() {
        return NativeHandle.LEAKED.get();
    }

    /** The Microsoft SEAL version linked into the native library, e.g. "4.1.2". */
    public static String sealVersion() {
        int[] v = new int[3];
        Natives.check(Natives.lib().eks_seal_version(v), "seal_version");
        return v[0] + "." + v[1] + "." + v[2];
    }
}
