package org.encryptedknn.client.cli;

import static org.encryptedknn.client.cli.CliTestSupport.run;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import org.encryptedknn.client.KeyFiles;
import org.encryptedknn.keys.MasterKey;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class KeygenTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void writesOwnerOnlyKeyAndNeverPrintsIt() throws Exception {
        Path key = tmp.getRoot().toPath().resolve("master.key");
        CliTestSupport.Result r = run("keygen", "--out", key.toString());
        assertEquals(r.toString(), 0, r.code());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        String text = Files.readString(key, StandardCharsets.US_ASCII).strip();
        assertEquals(32, Base64.getDecoder().decode(text).length);
        assertFalse(
                "the key is never printed", r.out().contains(text) || r.err().contains(text));
        try (MasterKey k = KeyFiles.read(key)) {
            assertEquals(text, k.toBase64());
        }
    }

    @Test
    public void refusesToOverwriteUnlessForced() throws Exception {
        Path key = tmp.getRoot().toPath().resolve("master.key");
        assertEquals(0, run("keygen", "--out", key.toString()).code());
        String first = Files.readString(key);
        String line = run("keygen", "--out", key.toString()).assertOneLineError();
        assertTrue(line, line.contains("already exists"));
        assertEquals(first, Files.readString(key));

        assertEquals(0, run("keygen", "--out", key.toString(), "--force").code());
        assertNotEquals(first, Files.readString(key));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        try (var files = Files.list(tmp.getRoot().toPath())) {
            assertEquals("no temporary file left behind", 1, files.count());
        }
    }

    @Test
    public void missingDirectoryIsOneLine() {
        Path key = tmp.getRoot().toPath().resolve("no/such/dir/master.key");
        String line = run("keygen", "--out", key.toString()).assertOneLineError();
        assertTrue(line, line.contains("does not exist"));
    }
}
