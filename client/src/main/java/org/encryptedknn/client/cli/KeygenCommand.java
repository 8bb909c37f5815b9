package org.encryptedknn.client.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;
import org.encryptedknn.client.KeyFiles;
import org.encryptedknn.keys.MasterKey;

/** {@code encrypted-knn keygen --out FILE [--force]}: a new random master key, written 0600, never printed. */
final class KeygenCommand implements Main.Command {

    @Override
    public String summary() {
        return "write a new random master key to a file (owner-only permissions; never printed)";
    }

    @Override
    public String usage() {
        return """
            usage: encrypted-knn keygen --out FILE [--force]

            Writes a new random 32-byte master key (base64, one line) to FILE, created with permissions 0600.
            The key is never printed. Every other key (prefix encryption, cell keys, field keys, the model seal)
            is derived from it: keep it safe and backed up, losing it loses the index.

              --out FILE   where to write the key (refused if it exists)
              --force      replace an existing FILE (whatever was encrypted under the old key becomes unreadable)

            The file has the format of the gateway's keystore setting encrypted_knn.master_key.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Options o = new Options("keygen", args, Set.of("--out"), Set.of("--force"));
        o.noPositional();
        Path file = o.path("--out");
        try (MasterKey key = KeyFiles.create(file, o.flag("--force"))) {
            out.println("wrote a new master key to " + file + " (permissions 0600; the key is not printed)");
        }
        return 0;
    }
}
