package org.encryptedknn.corpus;

import java.util.Objects;

/**
 * One message of the SpamAssassin public mail corpus, headers stripped.
 *
 * @param id      stable identifier {@code <group>/<number>}, e.g. {@code easy-ham-1/00001}
 * @param subject decoded Subject header (may be empty for the few messages without one)
 * @param body    plain-text body: MIME decoded, HTML stripped, whitespace normalised, capped
 *                at {@link MailParser#MAX_BODY_CHARS} characters
 * @param spam    true for the spam groups, false for the ham groups
 */
public record CorpusMessage(String id, String subject, String body, boolean spam) implements CorpusText {

    /** Maximum number of characters of {@link #embeddingText()} (MiniLM reads ~256 tokens). */
    public static final int MAX_EMBED_CHARS = 1200;

    public CorpusMessage {
        Objects.requireNonNull(id, "id");
        subject = subject == null ? "" : subject;
        body = body == null ? "" : body;
    }

    /** The corpus group, e.g. {@code easy-ham-1} or {@code spam-2}. */
    public String group() {
        int slash = id.indexOf('/');
        return slash < 0 ? "" : id.substring(0, slash);
    }

    /** The text that is embedded: subject, blank line, body; capped at {@link #MAX_EMBED_CHARS}. */
    @Override
    public String embeddingText() {
        String text = subject.isEmpty() ? body : subject + "\n\n" + body;
        return text.length() <= MAX_EMBED_CHARS ? text : text.substring(0, MAX_EMBED_CHARS);
    }
}
