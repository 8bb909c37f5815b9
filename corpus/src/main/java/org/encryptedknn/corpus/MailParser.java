package org.encryptedknn.corpus;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a raw RFC 822 message (as stored in the corpus) into a subject and a plain-text body.
 * Handles header folding, RFC 2047 encoded words, multipart MIME (prefers text/plain, falls back
 * to text/html), quoted-printable and base64 transfer encodings, and strips HTML. It is a
 * best-effort parser for building an embedding corpus, not a validating mail parser.
 */
public final class MailParser {

    /** Bodies are cut at this many characters. */
    public static final int MAX_BODY_CHARS = 4000;

    private static final int MAX_DEPTH = 8;
    /** Decoded parts are cut here before HTML stripping (bounds the work on huge messages). */
    private static final int MAX_DECODED_CHARS = 100_000;

    private static final Pattern ENCODED_WORD = Pattern.compile("=\\?([^?\\s]+)\\?([bBqQ])\\?([^?\\s]*)\\?=");
    private static final Pattern ENCODED_WORD_GAP = Pattern.compile("(\\?=)\\s+(=\\?)");
    private static final Pattern SCRIPT_STYLE = Pattern.compile("(?is)<(script|style)\\b.*?</\\1\\s*>");
    private static final Pattern COMMENT = Pattern.compile("(?s)<!--.*?-->");
    private static final Pattern BLOCK_TAG =
            Pattern.compile("(?i)<\\s*(br|/p|p|/div|div|/tr|tr|li|/h[1-6]|hr)\\b[^>]*>");
    private static final Pattern TAG = Pattern.compile("(?s)<[^>]*>");
    private static final Pattern NUM_ENTITY = Pattern.compile("&#(x?[0-9a-fA-F]+);");
    private static final Pattern PARAM = Pattern.compile("(?i);\\s*([a-z0-9*_-]+)\\s*=\\s*(\"([^\"]*)\"|[^;\\s]+)");

    private MailParser() {}

    /** Subject and body of one message. */
    public record Parsed(String subject, String body) {}

    public static Parsed parse(String raw) {
        String text = raw.replace("\r\n", "\n").replace('\r', '\n');
        // The corpus keeps the mbox "From " separator line: drop it.
        if (text.startsWith("From ")) {
            int nl = text.indexOf('\n');
            text = nl < 0 ? "" : text.substring(nl + 1);
        }
        Part part = splitPart(text);
        String subject = normalise(decodeHeader(part.headers.getOrDefault("subject", "")), false);
        String body = normalise(extractBody(part, 0), true);
        if (body.length() > MAX_BODY_CHARS) {
            body = body.substring(0, MAX_BODY_CHARS);
        }
        return new Parsed(subject, body);
    }

    private record Part(Map<String, String> headers, String body) {}

    /** Splits headers (unfolded, names lower-cased, first occurrence wins) from the body. */
    private static Part splitPart(String text) {
        Map<String, String> headers = new LinkedHashMap<>();
        int pos = 0;
        String name = null;
        StringBuilder value = new StringBuilder();
        while (pos < text.length()) {
            int nl = text.indexOf('\n', pos);
            String line = nl < 0 ? text.substring(pos) : text.substring(pos, nl);
            pos = nl < 0 ? text.length() : nl + 1;
            if (line.isEmpty()) {
                break;
            }
            if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && name != null) {
                value.append(' ').append(line.strip());
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                // Not a header at all: the part has no header block.
                if (name == null && headers.isEmpty()) {
                    return new Part(headers, text);
                }
                continue;
            }
            if (name != null) {
                headers.putIfAbsent(name, value.toString().strip());
            }
            name = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            value.setLength(0);
            value.append(line.substring(colon + 1));
        }
        if (name != null) {
            headers.putIfAbsent(name, value.toString().strip());
        }
        return new Part(headers, text.substring(Math.min(pos, text.length())));
    }

    private static String extractBody(Part part, int depth) {
        String contentType = part.headers.getOrDefault("content-type", "text/plain");
        String mime = contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (mime.isEmpty()) {
            mime = "text/plain";
        }
        if (mime.startsWith("multipart/") && depth < MAX_DEPTH) {
            String boundary = param(contentType, "boundary");
            if (boundary != null && !boundary.isEmpty()) {
                String plain = null;
                String html = null;
                for (String chunk : splitMultipart(part.body, boundary)) {
                    Part child = splitPart(chunk);
                    String childType = child.headers
                            .getOrDefault("content-type", "text/plain")
                            .toLowerCase(Locale.ROOT);
                    String text = extractBody(child, depth + 1);
                    if (text.isBlank()) {
                        continue;
                    }
                    if (childType.startsWith("text/html")) {
                        html = html == null ? text : html;
                    } else if (plain == null) {
                        plain = text;
                    }
                }
                if (plain != null) {
                    return plain;
                }
                return html == null ? "" : html;
            }
            // A multipart without a usable boundary: treat it as text.
            mime = "text/plain";
        }
        if (mime.startsWith("message/") && depth < MAX_DEPTH) {
            return extractBody(splitPart(part.body), depth + 1);
        }
        if (!mime.startsWith("text/")) {
            return "";
        }
        String encoding = part.headers
                .getOrDefault("content-transfer-encoding", "")
                .strip()
                .toLowerCase(Locale.ROOT);
        Charset charset = charset(param(contentType, "charset"));
        String decoded = switch (encoding) {
            case "base64" -> decodeBase64(part.body, charset);
            case "quoted-printable" -> decodeQuotedPrintable(part.body, charset);
            default -> part.body;
        };
        if (decoded.length() > MAX_DECODED_CHARS) {
            decoded = decoded.substring(0, MAX_DECODED_CHARS);
        }
        if (mime.equals("text/html") || looksLikeHtml(decoded)) {
            decoded = stripHtml(decoded);
        }
        return decoded;
    }

    private static List<String> splitMultipart(String body, String boundary) {
        List<String> parts = new ArrayList<>();
        String delimiter = "--" + boundary;
        int start = -1;
        int pos = 0;
        while (pos <= body.length()) {
            int nl = body.indexOf('\n', pos);
            int end = nl < 0 ? body.length() : nl;
            String line = body.substring(pos, end).stripTrailing();
            if (line.startsWith(delimiter)) {
                if (start >= 0) {
                    parts.add(body.substring(start, Math.max(start, pos - 1)));
                }
                if (line.startsWith(delimiter + "--")) {
                    return parts;
                }
                start = nl < 0 ? body.length() : nl + 1;
            }
            if (nl < 0) {
                break;
            }
            pos = nl + 1;
        }
        if (start >= 0 && start < body.length()) {
            parts.add(body.substring(start)); // unterminated last part
        }
        return parts;
    }

    private static String param(String headerValue, String name) {
        Matcher m = PARAM.matcher(headerValue);
        while (m.find()) {
            if (m.group(1).equalsIgnoreCase(name)) {
                return m.group(3) != null ? m.group(3) : m.group(2);
            }
        }
        return null;
    }

    private static Charset charset(String name) {
        if (name == null) {
            return StandardCharsets.ISO_8859_1;
        }
        try {
            return Charset.forName(name.strip().replace("\"", ""));
        } catch (RuntimeException e) {
            return StandardCharsets.ISO_8859_1;
        }
    }

    private static String decodeBase64(String body, Charset charset) {
        String clean = body.replaceAll("[^A-Za-z0-9+/=]", "");
        int eq = clean.indexOf('=');
        if (eq >= 0) {
            clean = clean.substring(0, eq);
        }
        if (clean.length() % 4 == 1) {
            clean = clean.substring(0, clean.length() - 1); // a lone trailing sextet carries no byte
        }
        try {
            return new String(Base64.getDecoder().decode(pad(clean)), charset);
        } catch (IllegalArgumentException e) {
            return "";
        }
    }

    private static String pad(String s) {
        int rem = s.length() % 4;
        return rem == 0 ? s : s + "=".repeat(4 - rem);
    }

    static String decodeQuotedPrintable(String body, Charset charset) {
        // Characters outside Latin-1 cannot come from a QP byte stream; keep them as UTF-8 bytes.
        byte[] out = new byte[body.length() * 3];
        int n = 0;
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '=') {
                if (i + 1 < body.length() && body.charAt(i + 1) == '\n') {
                    i++; // soft line break
                    continue;
                }
                if (i + 2 < body.length()) {
                    int hi = Character.digit(body.charAt(i + 1), 16);
                    int lo = Character.digit(body.charAt(i + 2), 16);
                    if (hi >= 0 && lo >= 0) {
                        out[n++] = (byte) (hi * 16 + lo);
                        i += 2;
                        continue;
                    }
                }
                out[n++] = '=';
            } else if (c < 256) {
                out[n++] = (byte) c;
            } else {
                for (byte b : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
                    out[n++] = b;
                }
            }
        }
        return new String(out, 0, n, charset);
    }

    /** Decodes RFC 2047 encoded words ({@code =?utf-8?B?...?=}, {@code =?iso-8859-1?Q?...?=}). */
    static String decodeHeader(String value) {
        if (!value.contains("=?")) {
            return value;
        }
        String joined = ENCODED_WORD_GAP.matcher(value).replaceAll("$1$2");
        Matcher m = ENCODED_WORD.matcher(joined);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            Charset cs = charset(m.group(1));
            String word = m.group(3);
            String decoded;
            if (m.group(2).equalsIgnoreCase("b")) {
                decoded = decodeBase64(word, cs);
            } else {
                decoded = decodeQuotedPrintable(word.replace('_', ' '), cs);
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(decoded));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static boolean looksLikeHtml(String text) {
        String head = text.length() > 2000 ? text.substring(0, 2000) : text;
        head = head.toLowerCase(Locale.ROOT);
        return head.contains("<html")
                || head.contains("<body")
                || head.contains("<table")
                || head.contains("<font")
                || (head.contains("<p>") && head.contains("</"));
    }

    static String stripHtml(String html) {
        String s = COMMENT.matcher(html).replaceAll(" ");
        s = SCRIPT_STYLE.matcher(s).replaceAll(" ");
        s = BLOCK_TAG.matcher(s).replaceAll("\n");
        s = TAG.matcher(s).replaceAll(" ");
        s = s.replace("&nbsp;", " ")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&apos;", "'")
                .replace("&copy;", "(c)")
                .replace("&reg;", "(R)");
        Matcher m = NUM_ENTITY.matcher(s);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String num = m.group(1);
            String repl;
            try {
                int cp = num.startsWith("x") || num.startsWith("X")
                        ? Integer.parseInt(num.substring(1), 16)
                        : Integer.parseInt(num);
                repl = Character.isValidCodePoint(cp) ? new String(Character.toChars(cp)) : " ";
            } catch (NumberFormatException e) {
                repl = " ";
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(repl));
        }
        m.appendTail(sb);
        return sb.toString().replace("&amp;", "&");
    }

    /**
     * One linear pass: control characters become spaces, runs of horizontal whitespace one space,
     * spaces around line breaks go, at most one blank line in a row (or no line breaks at all
     * when {@code keepParagraphs} is false).
     */
    static String normalise(String text, boolean keepParagraphs) {
        StringBuilder sb = new StringBuilder(Math.min(text.length(), 1 << 20));
        int pendingNewlines = 0;
        boolean pendingSpace = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                pendingNewlines++;
                pendingSpace = false;
                continue;
            }
            boolean space = Character.isWhitespace(c)
                    || Character.isSpaceChar(c)
                    || c < 0x20
                    || c == 0x7F
                    || (c >= 0x80 && c < 0xA0);
            if (space) {
                pendingSpace = true;
                continue;
            }
            if (sb.length() > 0) {
                if (pendingNewlines > 0) {
                    sb.append(keepParagraphs ? (pendingNewlines > 1 ? "\n\n" : "\n") : " ");
                } else if (pendingSpace) {
                    sb.append(' ');
                }
            }
            pendingNewlines = 0;
            pendingSpace = false;
            sb.append(c);
        }
        return sb.toString();
    }
}
