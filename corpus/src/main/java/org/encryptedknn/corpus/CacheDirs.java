package org.encryptedknn.corpus;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/**
 * Where the corpus tool keeps downloads and embedding caches.
 *
 * <p>Candidates, in order: system property {@code encrypted_knn.cache.dir}, environment variable
 * {@code ENCRYPTED_KNN_CACHE}, {@code ~/.cache/encrypted-knn}, {@code <build dir>/encrypted-knn-cache}
 * (the Maven build directory that holds these classes, when run from {@code target/classes}), and
 * {@code <java.io.tmpdir>/encrypted-knn-<user>}. Reads look in every candidate (so a cache prepared by
 * root in {@code /var/cache/encrypted-knn} is used read-only by an unprivileged user); writes go to the
 * first candidate that is writable.
 */
public final class CacheDirs {
    public static final String PROPERTY = "encrypted_knn.cache.dir";
    public static final String ENV = "ENCRYPTED_KNN_CACHE";

    private CacheDirs() {}

    /** All candidate directories, most preferred first (not necessarily existing). */
    public static List<Path> candidates() {
        LinkedHashSet<Path> dirs = new LinkedHashSet<>();
        String prop = System.getProperty(PROPERTY);
        if (prop != null && !prop.isBlank()) {
            dirs.add(Paths.get(prop).toAbsolutePath());
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            dirs.add(Paths.get(env).toAbsolutePath());
        }
        String home = System.getProperty("user.home");
        if (home != null && !home.isBlank() && !home.equals("?")) {
            dirs.add(Paths.get(home, ".cache", "encrypted-knn").toAbsolutePath());
        }
        Path build = buildDir();
        if (build != null) {
            dirs.add(build.resolve("encrypted-knn-cache"));
        }
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        dirs.add(Paths.get(System.getProperty("java.io.tmpdir"), "encrypted-knn-" + user.toLowerCase(Locale.ROOT)));
        return new ArrayList<>(dirs);
    }

    /** The first candidate that exists or can be created, and accepts a new file. */
    public static Path writable() throws IOException {
        IOException last = null;
        for (Path dir : candidates()) {
            try {
                Files.createDirectories(dir);
                Path probe = Files.createTempFile(dir, ".probe", ".tmp");
                Files.delete(probe);
                return dir;
            } catch (IOException | SecurityException e) {
                last = e instanceof IOException io ? io : new IOException(e);
            }
        }
        throw new IOException("no writable cache directory among " + candidates(), last);
    }

    /** Existing files named {@code name} in the candidate directories, most preferred first. */
    public static List<Path> existing(String name) {
        List<Path> found = new ArrayList<>();
        for (Path dir : candidates()) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p) && Files.isReadable(p)) {
                found.add(p);
            }
        }
        return found;
    }

    /**
     * Makes a file written by this process readable by everyone ({@code rw-r--r--}): createTempFile makes it
     * owner-only, and a cache prepared by root is read by the unprivileged node and test user.
     */
    static void shareReadable(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: keep the default
        }
    }

    /** The Maven build directory when these classes are loaded from {@code <build>/classes}, else null. */
    static Path buildDir() {
        try {
            var src = CacheDirs.class.getProtectionDomain().getCodeSource();
            if (src == null || src.getLocation() == null) {
                return null;
            }
            Path loc = Paths.get(src.getLocation().toURI());
            if (Files.isDirectory(loc)
                    && loc.getFileName() != null
                    && loc.getFileName().toString().equals("classes")
                    && loc.getParent() != null) {
                return loc.getParent();
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through
        }
        return null;
    }
}
