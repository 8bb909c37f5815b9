package org.encryptedknn.corpus;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.util.List;
import org.junit.Test;

/** Real embeddings (all-MiniLM-L6-v2 in process) of a 200-message slice; cached after the first run. */
public class EmbeddedCorpusTest {

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    @Test
    public void sliceEmbedsToUnitNorm384() throws Exception {
        EmbeddedCorpus c = EmbeddedCorpus.forTests(200);
        assertEquals(200, c.size());
        assertEquals(384, c.dimension());
        assertEquals(200, c.vectors().length);
        for (float[] v : c.vectors()) {
            assertEquals(384, v.length);
            assertEquals(1.0, Math.sqrt(dot(v, v)), 1e-5);
        }
        // The slice is the prefix of the fixed order.
        assertEquals(SpamAssassinCorpus.shuffledMessages().subList(0, 200), c.messages());
        assertTrue(c.messages().stream().anyMatch(CorpusMessage::spam));
        assertTrue(c.messages().stream().anyMatch(m -> !m.spam()));
        // Cached vectors equal freshly computed ones (to float/ONNX tolerance).
        float[] fresh = Embedder.shared().embed(c.messages().get(3).embeddingText());
        assertEquals(1.0, dot(fresh, c.vectors()[3]), 1e-4);
        CachedEmbeddings.Stats s = c.stats();
        assertNotNull("cache file was written", s.cacheFile());
        assertTrue(Files.isRegularFile(s.cacheFile()));
        VectorCache.Header h = VectorCache.readHeader(s.cacheFile());
        assertTrue(h.count() >= 200);
        assertEquals(SpamAssassinCorpus.CORPUS_VERSION, h.corpusVersion());
    }

    @Test
    public void smallerLoadIsPrefixAndSplitIsDisjoint() {
        EmbeddedCorpus big = EmbeddedCorpus.forTests(200);
        EmbeddedCorpus small = EmbeddedCorpus.forTests(50);
        for (int i = 0; i < 50; i++) {
            assertArrayEquals(big.vectors()[i], small.vectors()[i], 0f);
        }
        EmbeddedCorpus.Split split = big.split(150, 50);
        assertEquals(150, split.index().size());
        assertEquals(50, split.queries().size());
        assertEquals(big.messages().get(150), split.queries().messages().get(0));
        assertTrue(split.index().messages().stream().noneMatch(split.queries().messages()::contains));
    }

    @Test
    public void similarTextsAreCloserThanUnrelatedOnes() {
        Embedder e = Embedder.shared();
        float[] a = e.embed("Cheap mortgage refinance offer: lower your monthly payments today");
        float[] b = e.embed("Refinance your home loan now at the lowest interest rates");
        float[] c = e.embed("The Linux kernel build fails with gcc 3.2 on my Red Hat box");
        float[] d = e.embed("Compiling the kernel with the new gcc gives errors on Redhat 8");
        assertTrue(dot(a, b) > dot(a, c) + 0.2);
        assertTrue(dot(c, d) > dot(c, b) + 0.2);
        float[][] batch = e.embedAll(List.of("Cheap mortgage refinance offer: lower your monthly payments today", "x"));
        assertEquals(1.0, dot(a, batch[0]), 1e-4);
    }

    @Test
    public void corpusNeighboursShareTheirClass() {
        // Nearest neighbour of a spam is mostly spam, of a ham mostly ham: the vectors carry meaning.
        // (Chance agreement with ~30 % spam is ~0.58; measured 0.845 on this slice.)
        EmbeddedCorpus c = EmbeddedCorpus.forTests(200);
        int agree = 0;
        for (int i = 0; i < c.size(); i++) {
            int best = -1;
            double bestScore = -2;
            for (int j = 0; j < c.size(); j++) {
                if (j != i) {
                    double s = dot(c.vectors()[i], c.vectors()[j]);
                    if (s > bestScore) {
                        bestScore = s;
                        best = j;
                    }
                }
            }
            agree += c.messages().get(i).spam() == c.messages().get(best).spam() ? 1 : 0;
        }
        assertTrue("1-NN class agreement " + agree + "/200", agree > 150);
    }

    @Test
    public void longTextsAreTruncatedToTheModelWindow() {
        Embedder e = Embedder.shared();
        String longText = "spam offer click here now ".repeat(200);
        String cut = e.truncate(longText);
        assertTrue(cut.length() < longText.length());
        assertTrue(longText.startsWith(cut));
        assertEquals("short text", e.truncate("short text"));
    }
}
