package org.encryptedknn.corpus;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class MailParserTest {

    @Test
    public void stripsHeadersAndDecodesSubject() {
        String raw = "From someone  Thu Aug 22 12:36:23 2002\n"
                + "Subject: =?iso-8859-1?Q?Caf=E9_menu?= =?utf-8?B?w6l0w6k=?=\n"
                + "X-Long: folded\n  continuation\n"
                + "\n"
                + "Hello   there\n\n\n\nsecond paragraph\n";
        MailParser.Parsed p = MailParser.parse(raw);
        assertEquals("Café menuété", p.subject());
        assertEquals("Hello there\n\nsecond paragraph", p.body());
    }

    @Test
    public void prefersPlainTextPartAndDecodesQuotedPrintable() {
        String raw = "Subject: multi\n"
                + "Content-Type: multipart/alternative; boundary=\"XX\"\n\n"
                + "preamble\n--XX\nContent-Type: text/html\n\n<p>html version</p>\n"
                + "--XX\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
                + "plain =E9t=E9 soft=\nbreak\n--XX--\n";
        MailParser.Parsed p = MailParser.parse(raw);
        assertEquals("plain été softbreak", p.body());
    }

    @Test
    public void stripsHtmlAndDecodesBase64() {
        String html = "<html><head><style>p{}</style></head><body><p>Buy&nbsp;now &amp; save</p><script>x()</script>"
                + "<br>&#8364;5</body></html>";
        String b64 = java.util.Base64.getMimeEncoder()
                .encodeToString(html.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        String raw = "Subject: offer\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
                + b64 + "\n";
        MailParser.Parsed p = MailParser.parse(raw);
        assertEquals("Buy now & save\n\n€5", p.body());
        assertFalse(p.body().contains("x()"));
    }

    @Test
    public void capsBodyLength() {
        String raw = "Subject: long\n\n" + "word ".repeat(5000);
        MailParser.Parsed p = MailParser.parse(raw);
        assertEquals(MailParser.MAX_BODY_CHARS, p.body().length());
        assertTrue(p.body().startsWith("word word"));
    }
}
