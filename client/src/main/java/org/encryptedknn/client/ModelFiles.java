package org.encryptedknn.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.ModelDecryptionException;
import org.encryptedknn.model.ModelMetadata;

/**
 * Sealed model files of the key holder (client mode): the {@link ModelCodec} JSON, public parameters in clear and
 * the secret part (basis, centroids) sealed under the master key. A model file alone reveals nothing secret; it
 * opens only with the key it was written under.
 *
 * <p>Errors are {@link IllegalArgumentException}s naming the file (and the key file, when it is the wrong key).
 */
public final class ModelFiles {

    private ModelFiles() {}

    /** Writes the sealed model (replacing the file atomically). */
    public static void write(Path file, EncryptionModel model, KeyDerivation keys) {
        String json = ModelCodec.toJson(model, keys);
        Path dir = file.toAbsolutePath().getParent();
        try {
            Path tmp = Files.createTempFile(dir, file.getFileName() + ".tmp-", "");
            try {
                Files.writeString(tmp, json + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(
                    "cannot write model file " + file + ": directory " + dir + " does not exist");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("cannot write model file " + file + ": permission denied");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write model file " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens a sealed model file.
     *
     * @param keyFile only for the error message when the key is the wrong one (may be null)
     */
    public static EncryptionModel read(Path file, KeyDerivation keys, Path keyFile) {
        String json = text(file);
        try {
            return ModelCodec.fromJson(json, keys);
        } catch (ModelDecryptionException e) {
            throw new IllegalArgumentException(
                    "model file " + file + " cannot be decrypted with "
                            + (keyFile == null ? "this master key" : "key file " + keyFile)
                            + " (it was sealed under another master key, or it was altered)",
                    e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model file " + file + " is not a sealed model: " + e.getMessage(), e);
        }
    }

    /** The public part of a model file (parameters, id, epoch); needs no key. */
    public static ModelMetadata readMetadata(Path file) {
        String json = text(file);
        try {
            return ModelCodec.readMetadata(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model file " + file + " is not a model: " + e.getMessage(), e);
        }
    }

    private static String text(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(
                    "model file " + file + " does not exist (create one with: encrypted-knn fit … --out " + file + ")");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("model file " + file + " is not readable: permission denied");
        } catch (IOException e) {
            if (Files.isDirectory(file)) {
                throw new IllegalArgumentException("model file " + file + " is a directory");
            }
            throw new UncheckedIOException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
    }
}
