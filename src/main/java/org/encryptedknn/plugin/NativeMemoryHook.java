package org.encryptedknn.plugin;

/**
 * Connects {@link PluginStats#nativeMemoryInUse()} to the SEAL binding's allocation counter.
 *
 * <p>Until {@code org.encryptedknn.he.NativeMemory.inUse()} exists, native memory is reported as 0. Wiring it is one
 * line: {@code PluginStats.setNativeMemoryGauge(org.encryptedknn.he.NativeMemory::inUse)} — a direct call, no reflection.
 */
final class NativeMemoryHook {
    private NativeMemoryHook() {}

    static void install() {
        // org.encryptedknn.he.NativeMemory does not exist yet: keep the default gauge (0).
    }
}
