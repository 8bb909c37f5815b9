package org.encryptedknn.keystore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.encryptedknn.model.EncryptionModel;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.core.rest.RestStatus;

/**
 * The key holder's monotonic memory of each model: the highest {@code epoch} and {@code first_epoch} this node has
 * opened or stored, per model instance (model id and a fingerprint of its key salt, so a model deleted and created
 * again starts afresh while a rolled-back copy of the deleted one is still refused). A sealed model document whose
 * epoch or first epoch is below the floor is refused: that is a rollback of the registry document (a write to
 * {@code .encrypted-knn-models}, a snapshot restore), which would otherwise revive retired epochs.
 *
 * <p>The floors live in node memory and in a file in the node's data directory ({@value #FILE_NAME}), outside every
 * index, so neither an index write nor a snapshot restore resets them. Limits: each node holds its own floors (a node
 * that never saw the newer document, e.g. one that joins later, accepts the older one); whoever controls the node's
 * file system can delete the file — but that person also holds the keystore, hence the master key.
 */
final class EpochFloors {

    static final String FILE_NAME = "encrypted-knn-epoch-floors";

    private final Path file; // null: memory only
    private final Map<String, int[]> floors = new TreeMap<>(); // "<id> <salt fingerprint>" → {epoch, first epoch}

    EpochFloors(Path file) {
        this.file = file;
        if (file != null && Files.exists(file)) {
            try {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    String[] p = line.trim().split(" ");
                    if (p.length == 4) {
                        floors.put(p[0] + " " + p[1], new int[] {Integer.parseInt(p[2]), Integer.parseInt(p[3])});
                    }
                }
            } catch (IOException | NumberFormatException e) {
                throw new IllegalStateException("cannot read the encrypted-knn epoch floors " + file, e);
            }
        }
    }

    /** Refuses {@code model} if it is older than this node has seen; otherwise raises the floor to it. */
    synchronized void check(EncryptionModel model) {
        String key = key(model);
        int epoch = model.epoch();
        int first = model.parameters().firstEpoch();
        int[] floor = floors.get(key);
        if (floor != null && (epoch < floor[0] || first < floor[1])) {
            throw new OpenSearchStatusException(
                    "model [" + model.id() + "] in the registry is at epoch " + epoch + " (first epoch " + first
                            + "), older than this node has seen (epoch " + floor[0] + ", first epoch " + floor[1]
                            + "): a rolled-back model document is refused, it would revive retired key epochs",
                    RestStatus.CONFLICT);
        }
        if (floor == null || epoch > floor[0] || first > floor[1]) {
            floors.put(key, new int[] {epoch, first});
            persist();
        }
    }

    private void persist() {
        if (file == null) {
            return;
        }
        List<String> lines = new ArrayList<>();
        floors.forEach((k, v) -> lines.add(k + " " + v[0] + " " + v[1]));
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, lines, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the encrypted-knn epoch floors " + file, e);
        }
    }

    /**
     * Model id and the first 8 bytes of SHA-256(key salt) ("v1" for a model without salt, and for one upgraded from v1
     * by {@code _rotate}: the same model instance, so its v1 registry document stays below the floor); ids have no
     * spaces.
     */
    private static String key(EncryptionModel model) {
        if (model.hasKeySalt() == false || model.upgradedAtEpoch() > 0) {
            return model.id() + " v1";
        }
        byte[] salt = model.keySalt();
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(salt);
            return model.id() + " " + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            java.util.Arrays.fill(salt, (byte) 0);
        }
    }
}
