package org.encryptedknn.tools.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The machine's load average (1, 5, 15 minutes), printed next to figures measured on a shared machine. */
public final class LoadAverage {

    private LoadAverage() {}

    /** "1.23 0.98 0.75", or "n/a" where /proc/loadavg does not exist. */
    public static String read() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException e) {
            return "n/a";
        }
    }
}
