package org.encryptedknn.corpus;

/** One text of a real corpus: what is embedded, and a stable id; the unit a {@link VectorCache} digests. */
public interface CorpusText {
    /** Stable within the corpus version, e.g. {@code easy-ham-1/00001}. */
    String id();

    /** Exactly the text the encoder reads. */
    String embeddingText();
}
