package org.encryptedknn.tools;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.Assert.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.Test;

/**
 * No cycle between the packages of any module (docs/architecture.md). This module's test class path holds every
 * module (core, corpus, plugin, client, tools), so one check covers them all; test classes are left out. Each package
 * is its own slice: {@code rescore} may use {@code mapper}, never the other way round as well.
 */
public class PackageCyclesTest {

    @Test
    public void packagesAreFreeOfCycles() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.encryptedknn");
        // every module is on the class path: a test that imported nothing would pass for the wrong reason
        for (String p : new String[] {"keys", "plugin", "mapper", "client.cli", "tools.bench", "corpus"}) {
            assertTrue(p, classes.containPackage("org.encryptedknn." + p));
        }
        slices().matching("org.encryptedknn.(**)").should().beFreeOfCycles().check(classes);
    }
}
