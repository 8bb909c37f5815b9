package org.encryptedknn.plugin;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.Test;

/**
 * The built plugin zip (mvn verify; failsafe runs this after the package phase) holds only what runs in a node: no
 * class of the client, CLI, tools or corpus modules, no test class, and no class of a jar the node already provides
 * (OpenSearch, Lucene, JNA, Jackson, log4j: the module's provided dependencies, listed by the build in
 * target/provided-classpath.txt). Bundling a second copy of those breaks class loading.
 */
public class PluginZipIT {

    private static final List<String> FOREIGN =
            List.of("org/encryptedknn/client/", "org/encryptedknn/tools/", "org/encryptedknn/corpus/");

    @Test
    public void zipHoldsOnlyNodeCode() throws IOException {
        Path zip = Path.of(System.getProperty("plugin.zip"));
        Set<String> provided = providedClasses(Path.of(System.getProperty("provided.classpath")));
        assertTrue("the provided class path was read", provided.contains("org/opensearch/plugins/Plugin.class"));

        Set<String> top = new TreeSet<>();
        List<String> problems = new ArrayList<>();
        int pluginClasses = 0;
        boolean nativeLibrary = false;
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                top.add(e.getName());
                if (!e.getName().endsWith(".jar")) {
                    continue;
                }
                for (String entry : jarEntries(in)) {
                    if (entry.endsWith(".class")) {
                        if (entry.startsWith("org/encryptedknn/")) {
                            pluginClasses++;
                        }
                        if (FOREIGN.stream().anyMatch(entry::startsWith)
                                || entry.matches(
                                        "org/encryptedknn/.*(Test|Tests|IT|TestCase|TestSupport)(\\$.*)?\\.class")) {
                            problems.add(e.getName() + ": " + entry + " does not run in a node");
                        }
                        if (provided.contains(entry) && !entry.startsWith("META-INF/")) {
                            problems.add(e.getName() + ": " + entry + " is provided by OpenSearch");
                        }
                    }
                    nativeLibrary |= entry.equals("linux-x86-64/libencrypted_knn_seal.so");
                }
            }
        }
        assertTrue(
                top.toString(), top.contains("plugin-descriptor.properties") && top.contains("plugin-security.policy"));
        assertTrue(top.toString(), top.stream().anyMatch(n -> n.matches("encrypted-knn-core-.*\\.jar")));
        assertTrue("plugin classes: " + pluginClasses, pluginClasses > 50);
        assertEquals(List.of(), problems.subList(0, Math.min(problems.size(), 20)));
        // the native library travels in core's jar: in the zip whenever this build has it (-Dnative.skip on a fresh
        // clone has none)
        boolean built = Files.exists(Path.of(System.getProperty("core.native.library")));
        assertEquals("native library in the zip", built, nativeLibrary);
    }

    /** Names of the entries of the jar at the current position of {@code zip} (read without closing it). */
    private static List<String> jarEntries(ZipInputStream zip) throws IOException {
        List<String> names = new ArrayList<>();
        ZipInputStream inner = new ZipInputStream(new NonClosing(zip));
        for (ZipEntry e; (e = inner.getNextEntry()) != null; ) {
            names.add(e.getName());
        }
        return names;
    }

    private static Set<String> providedClasses(Path classpathFile) throws IOException {
        Set<String> classes = new HashSet<>();
        for (String path : Files.readString(classpathFile).trim().split(File.pathSeparator)) {
            if (path.endsWith(".jar")) {
                try (JarFile jar = new JarFile(path)) {
                    jar.stream()
                            .map(ZipEntry::getName)
                            .filter(n -> n.endsWith(".class"))
                            .forEach(classes::add);
                }
            }
        }
        return classes;
    }

    /** Lets a nested ZipInputStream read one entry of the outer one without closing it. */
    private static final class NonClosing extends java.io.FilterInputStream {
        NonClosing(InputStream in) {
            super(in);
        }

        @Override
        public void close() {}
    }
}
