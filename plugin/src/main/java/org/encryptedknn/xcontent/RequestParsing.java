package org.encryptedknn.xcontent;

import java.io.IOException;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentLocation;
import org.opensearch.core.xcontent.XContentParseException;
import org.opensearch.core.xcontent.XContentParser;

/**
 * Request objects parsed with OpenSearch's {@link ObjectParser}, under one error rule: a 400 names the field and the
 * problem, <b>never the value sent</b> (a value may be a ciphertext, or a plaintext vector that must not reach a log).
 *
 * <p>Field parsers report a bad value with {@link #bad}; its message is kept. Any other failure inside a field parser
 * (a number that does not parse, say, whose message would quote the value) is reported by ObjectParser's own message
 * for that field, which names the field only. ObjectParser's errors for unknown fields, wrong token types and
 * missing required fields name fields and types, not values.
 */
public final class RequestParsing {

    private RequestParsing() {}

    /** A bad value of a request field: {@code message} names the field and the problem, not the value. */
    public static final class BadValueException extends IllegalArgumentException {
        BadValueException(String message) {
            super(message);
        }
    }

    public static BadValueException bad(String message) {
        return new BadValueException(message);
    }

    /** Parses the object at the parser's current token (or the next one) into {@code value}. */
    public static <V, C> V parse(ObjectParser<V, C> objectParser, XContentParser parser, V value, C context)
            throws IOException {
        try {
            return objectParser.parse(parser, value, context);
        } catch (XContentParseException e) {
            throw new ParsingException(location(e, parser), message(e));
        }
    }

    /** The innermost {@link BadValueException}'s or {@link ParsingException}'s message, else ObjectParser's own. */
    static String message(XContentParseException e) {
        String message = withoutLocation(e);
        for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
            if (t instanceof BadValueException || t instanceof ParsingException) {
                return t.getMessage();
            }
            if (t instanceof XContentParseException inner) {
                message = withoutLocation(inner);
            }
        }
        return message;
    }

    private static String withoutLocation(XContentParseException e) {
        String m = e.getMessage();
        XContentLocation l = e.getLocation();
        String prefix = l == null ? null : "[" + l.lineNumber + ":" + l.columnNumber + "] ";
        return prefix != null && m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    private static XContentLocation location(XContentParseException e, XContentParser parser) {
        return e.getLocation() != null ? e.getLocation() : parser.getTokenLocation();
    }
}
