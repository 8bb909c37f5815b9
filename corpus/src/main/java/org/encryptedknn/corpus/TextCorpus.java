package org.encryptedknn.corpus;

import java.io.IOException;
import java.util.List;

/**
 * A real corpus whose texts are embedded and cached by {@link CachedEmbeddings}: its texts in a fixed order (every
 * prefix a representative sample, and the prefix of every longer load), the cache file name and the version string
 * stored in every cache header.
 */
public interface TextCorpus<T extends CorpusText> {
    /** All texts, in the corpus's fixed order. */
    List<T> texts() throws IOException;

    /** The cache file name of {@code encoder}'s vectors (in a {@link CacheDirs} directory). */
    String cacheFile(Encoder encoder);

    /** Identifies the source, the text recipe, the order and {@code encoder}'s recipe; part of the cache header. */
    String version(Encoder encoder);
}
