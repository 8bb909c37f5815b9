package org.encryptedknn.corpus;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Test;

/** The Translation-en parser and the archive's pinning, on inline snippets (no network). */
public class DebianDescriptionsTest {

    // Real records of bookworm's Translation-en (0ad shortened), plus a duplicate and a list, in deb822 form.
    private static final String SNIPPET = """
            Package: 0ad
            Description-md5: d943033bedada21853d2ae54a2578a7b
            Description-en: Real-time strategy game of ancient warfare
             0 A.D. (pronounced "zero ey-dee") is a free, open-source, cross-platform
             real-time strategy (RTS) game of ancient warfare. In short, it is a
             historically-based war/economy game that allows players to relive or rewrite
             the history of Western civilizations!
             .
             This package contains the main data files.

            Package: 0xffff
            Description-md5: 183c49f6505eb3432d1b069800f1f5b6
            Description-en: Open Free Fiasco Firmware Flasher
             Supported operations currently include, but are not limited to:
              * generating and unpacking FIASCO images on local device
              * editing Maemo firmware
                packages of any kind
              * x86_64 i386 arm64
             .
             THIS PACKAGE CONTAINS THE   main data files.

            Package: 2048
            Description-md5: 2d3a24661b5ec0391d6bd1aedf7c20b7
            Description-en: Slide and add puzzle game for text mode
            """;

    private static List<DebianDescriptions.Text> parse(String translation) throws IOException {
        return DebianDescriptions.parse(new BufferedReader(new StringReader(translation)));
    }

    @Test
    public void shortDescriptionsAndSentencesOfLongOnes() throws IOException {
        List<String> texts =
                parse(SNIPPET).stream().map(DebianDescriptions.Text::text).toList();
        assertEquals(
                List.of(
                        "Real-time strategy game of ancient warfare",
                        // the splitter is naive: "0 A.D." ends a sentence (and is too short to keep)
                        "(pronounced \"zero ey-dee\") is a free, open-source, cross-platform real-time strategy"
                                + " (RTS) game of ancient warfare.",
                        "In short, it is a historically-based war/economy game that allows players to relive or"
                                + " rewrite the history of Western civilizations!",
                        "This package contains the main data files.",
                        "Open Free Fiasco Firmware Flasher",
                        "Supported operations currently include, but are not limited to:",
                        "generating and unpacking FIASCO images on local device",
                        "editing Maemo firmware packages of any kind",
                        // "x86_64 i386 arm64": mostly not letters; the upper-case sentence: a duplicate
                        "Slide and add puzzle game for text mode"),
                texts);
    }

    @Test
    public void idsNameThePackageTheDescriptionAndThePosition() throws IOException {
        List<DebianDescriptions.Text> texts = parse(SNIPPET);
        assertEquals("0ad/d943033b/0", texts.get(0).id());
        assertEquals("0ad/d943033b/3", texts.get(3).id());
        assertEquals("0xffff/183c49f6/3", texts.get(7).id());
        assertEquals("2048/2d3a2466/0", texts.get(8).id());
        assertSame(texts.get(2).text(), texts.get(2).embeddingText());
    }

    @Test
    public void keepsMidLengthMostlyLetterTexts() {
        assertTrue(DebianDescriptions.keep("GNU C compiler for x86"));
        assertFalse(DebianDescriptions.keep("GNU C compiler")); // shorter than 20
        assertFalse(DebianDescriptions.keep("a".repeat(DebianDescriptions.MAX_CHARS + 1)));
        assertFalse(DebianDescriptions.keep("libfoo1 (>= 1.2.3), libbar2 (<< 4.5)"));
    }

    @Test
    public void aDescriptionGivesAtMostTwentyTexts() throws IOException {
        StringBuilder fonts = new StringBuilder("Package: fonts-many\nDescription-md5: 0123456789abcdef\n"
                + "Description-en: A font family in many weights and widths\n");
        for (int i = 0; i < 40; i++) {
            fonts.append("  * Noto Serif Variant Number ")
                    .append((char) ('A' + i % 26))
                    .append(i / 26 == 0 ? "" : "a")
                    .append('\n');
        }
        assertEquals(
                DebianDescriptions.MAX_TEXTS_PER_DESCRIPTION,
                parse(fonts.toString()).size());
    }

    @Test
    public void refusesAnArchiveWithAnotherHash() throws IOException {
        Path file = Files.createTempFile("translation", ".xz");
        try {
            Files.writeString(file, SNIPPET, StandardCharsets.UTF_8);
            IOException e = assertThrows(IOException.class, () -> DebianDescriptions.verified(file));
            assertTrue(e.getMessage(), e.getMessage().contains(DebianDescriptions.SHA256));
            assertTrue(e.getMessage(), e.getMessage().contains("refusing"));
        } finally {
            Files.delete(file);
        }
    }

    @Test
    public void versionNamesTheArchiveHashTheRecipeAndTheEncoder() {
        String version = DebianDescriptions.BOOKWORM.version(Encoder.DEFAULT);
        assertTrue(version, version.contains("@sha256:" + DebianDescriptions.SHA256));
        assertTrue(version, version.contains("order=shuffle-" + DebianDescriptions.SHUFFLE_SEED));
        assertTrue(version, version.endsWith(Encoder.DEFAULT.recipe()));
        assertFalse(version.equals(DebianDescriptions.BOOKWORM.version(Encoder.E5_SMALL_V2_Q)));
    }
}
