package org.encryptedknn.plugin;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.encryptedknn.he.NativeMemory;
import org.encryptedknn.stats.PluginStats;

/**
 * Connects {@link PluginStats#nativeMemoryInUse()} to the SEAL binding's counter
 * ({@link NativeMemory#inUse()}: SEAL memory pool + live returned buffers). A direct call, no reflection.
 *
 * <p>The first stats call loads the native library if nothing else has (it is the library CKKS rescoring uses). If it
 * cannot be loaded — e.g. a build without {@code native/} — the plugin has no native memory, and 0 is reported.
 */
final class NativeMemoryHook {
    private static final Logger LOGGER = LogManager.getLogger(NativeMemoryHook.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private NativeMemoryHook() {}

    static void install() {
        PluginStats.setNativeMemoryGauge(() -> {
            try {
                return NativeMemory.inUse();
            } catch (RuntimeException | LinkageError e) {
                if (WARNED.compareAndSet(false, true)) {
                    LOGGER.warn(
                            "encrypted-knn: native library unavailable, reporting 0 native memory: {}", e.toString());
                }
                return 0L; // native library unavailable: nothing allocated natively
            }
        });
    }
}
