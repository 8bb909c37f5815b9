package org.encryptedknn.client.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import org.encryptedknn.client.KeyFiles;
import org.encryptedknn.client.ModelFiles;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.transform.VectorTransform;

/** The key holder's state for one command: master key, derived keys, the opened model and its transform. */
final class KeyMaterial implements AutoCloseable {

    final Path keyFile;
    final Path modelFile;
    final MasterKey master;
    final KeyDerivation keys;
    final EncryptionModel model;
    final VectorTransform transform;

    private KeyMaterial(Path keyFile, Path modelFile, MasterKey master, KeyDerivation keys, EncryptionModel model) {
        this.keyFile = keyFile;
        this.modelFile = modelFile;
        this.master = master;
        this.keys = keys;
        this.model = model;
        this.transform = new VectorTransform(model, keys);
    }

    /** Reads {@code --key} and {@code --model}; warns on stderr when the key file is readable by others. */
    static KeyMaterial open(Options o, PrintStream err) {
        Path keyFile = o.path("--key");
        Path modelFile = o.path("--model");
        MasterKey master = KeyFiles.read(keyFile);
        KeyDerivation keys = null;
        try {
            if (KeyFiles.tooOpen(keyFile)) {
                err.println("warning: key file " + keyFile + " is readable or writable by group or others; chmod 600 "
                        + keyFile);
            }
            keys = new KeyDerivation(master);
            EncryptionModel model = ModelFiles.read(modelFile, keys, keyFile);
            return new KeyMaterial(keyFile, modelFile, master, keys, model);
        } catch (RuntimeException e) {
            if (keys != null) {
                keys.close();
            }
            master.close();
            throw e;
        }
    }

    int dimension() {
        return model.parameters().dimension();
    }

    @Override
    public void close() {
        transform.close();
        keys.close();
        master.close();
    }
}
