package org.encryptedknn.client.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.Test;

/** The one argument parser of the commands and the tools. */
public class OptionsTest {

    @Test
    public void commandsAcceptOnlyDeclaredOptions() {
        Options o = new Options(
                "search",
                new String[] {"--k", "5", "--json", "--url=http://x"},
                Set.of("--k", "--url"),
                Set.of("--json"));
        assertEquals(5, o.integer("--k", 10, 1, 100));
        assertTrue(o.flag("--json"));
        assertEquals("http://x", o.get("--url", null));
        CliException e = assertThrows(
                CliException.class, () -> new Options("search", new String[] {"--bogus", "1"}, Set.of(), Set.of()));
        assertTrue(e.getMessage(), e.getMessage().contains("unknown option --bogus"));
    }

    @Test
    public void toolsReadWhatTheyAreGiven() {
        Options o = Options.lenient(
                "SearchBench",
                new String[] {"verify", "--k", "300", "--quiet", "--beta", "0.25", "--ks=40,100", "--big"});
        assertEquals(300, o.integer("--k", 100));
        assertEquals(7, o.integer("--cells", 7));
        assertEquals(0.25, o.number("--beta", 0.5), 0);
        assertEquals(List.of("40", "100"), o.list("--ks"));
        assertTrue(o.flag("--quiet"));
        assertTrue(o.flag("--big"));
        assertFalse(o.flag("--other"));
        assertEquals(List.of("verify"), o.positional());
        CliException e = assertThrows(
                CliException.class,
                () -> Options.lenient("SearchBench", new String[] {"--k", "x"}).integer("--k", 1));
        assertTrue(e.getMessage(), e.getMessage().contains("option --k must be an integer"));
    }
}
