package org.encryptedknn.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.encryptedknn.keys.MasterKey;

/**
 * Master key files of the key holder (client mode): one line, the 32-byte key in base64, owner-only permissions
 * (0600). The same format as the value of the {@code encrypted_knn.master_key} keystore setting, so a key file can
 * be moved to a gateway tier with {@code opensearch-keystore add-file} or {@code add --stdin}.
 *
 * <p>Errors are {@link IllegalArgumentException}s whose message names the file and never contains key material.
 */
public final class KeyFiles {

    /** rw------- */
    public static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private KeyFiles() {}

    /**
     * Writes a fresh random key to {@code file}, created with owner-only permissions (never world- or group-readable,
     * not even for an instant). Refuses to replace an existing file unless {@code overwrite}: losing a master key
     * loses everything encrypted under it.
     */
    public static MasterKey create(Path file, boolean overwrite) {
        MasterKey key = MasterKey.generate();
        try {
            write(file, key, overwrite);
            return key;
        } catch (RuntimeException e) {
            key.destroy();
            throw e;
        }
    }

    /** Writes {@code key} to {@code file} (0600), see {@link #create}. */
    public static void write(Path file, MasterKey key, boolean overwrite) {
        Path dir = file.toAbsolutePath().getParent();
        byte[] text = (key.toBase64() + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            if (dir != null && !Files.isDirectory(dir)) {
                throw new IllegalArgumentException(
                        "cannot write key file " + file + ": directory " + dir + " does not exist");
            }
            if (!overwrite && Files.exists(file)) {
                throw new IllegalArgumentException(
                        "key file " + file + " already exists; refusing to overwrite a master key"
                                + " (everything encrypted under it would be lost); choose another file or pass --force");
            }
            if (overwrite) {
                Path tmp = createOwnerOnly(dir, file.getFileName() + ".tmp-");
                try {
                    Files.write(tmp, text);
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } else {
                // created 0600 and exclusively: fails if another process created the file meanwhile
                Path created;
                try {
                    created = Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                } catch (UnsupportedOperationException e) {
                    created = Files.createFile(file);
                    restrict(created);
                }
                Files.write(created, text);
            }
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException(
                    "key file " + file + " already exists; refusing to overwrite a master key");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("cannot write key file " + file + ": permission denied");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write key file " + file + ": " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(text, (byte) 0);
        }
    }

    /** Reads a key file written by {@link #create} (or any file holding one base64 32-byte key). */
    public static MasterKey read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(
                    "key file " + file + " does not exist (create one with: encrypted-knn keygen --out " + file + ")");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("key file " + file + " is not readable: permission denied");
        } catch (IOException e) {
            if (Files.isDirectory(file)) {
                throw new IllegalArgumentException("key file " + file + " is a directory");
            }
            throw new UncheckedIOException("cannot read key file " + file + ": " + e.getMessage(), e);
        }
        String text = new String(bytes, StandardCharsets.US_ASCII);
        java.util.Arrays.fill(bytes, (byte) 0);
        try {
            return MasterKey.fromBase64(text);
        } catch (IllegalArgumentException e) {
            // MasterKey's messages never echo the value
            throw new IllegalArgumentException("key file " + file + " does not hold a master key: " + e.getMessage()
                    + " (expected one line of base64 encoding 32 bytes)");
        }
    }

    /** True when the file is readable or writable by group or others (POSIX file systems only). */
    public static boolean tooOpen(Path file) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            return p.contains(PosixFilePermission.GROUP_READ)
                    || p.contains(PosixFilePermission.OTHERS_READ)
                    || p.contains(PosixFilePermission.GROUP_WRITE)
                    || p.contains(PosixFilePermission.OTHERS_WRITE);
        } catch (UnsupportedOperationException | IOException e) {
            return false;
        }
    }

    private static Path createOwnerOnly(Path dir, String prefix) throws IOException {
        try {
            FileAttribute<Set<PosixFilePermission>> attr = PosixFilePermissions.asFileAttribute(OWNER_ONLY);
            return Files.createTempFile(dir, prefix, "", attr);
        } catch (UnsupportedOperationException e) {
            return restrict(Files.createTempFile(dir, prefix, ""));
        }
    }

    /** Not a POSIX file system: best effort owner-only access. */
    private static Path restrict(Path file) {
        java.io.File f = file.toFile();
        f.setReadable(false, false);
        f.setReadable(true, true);
        f.setWritable(false, false);
        f.setWritable(true, true);
        return file;
    }
}
