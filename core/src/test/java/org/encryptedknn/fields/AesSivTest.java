package org.encryptedknn.fields;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.fail;

import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import org.junit.Test;

public class AesSivTest {

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    /** RFC 4493 §4, AES-128 CMAC examples 1 and 2 (CMAC runs under the first half of the SIV key). */
    @Test
    public void cmacRfc4493() {
        byte[] k = hex("2b7e1516 28aed2a6 abf71588 09cf4f3c");
        byte[] sivKey = new byte[32];
        System.arraycopy(k, 0, sivKey, 0, 16);
        AesSiv siv = new AesSiv(sivKey);
        assertArrayEquals(hex("bb1d6929 e9593728 7fa37d12 9b756746"), siv.cmac(new byte[0]));
        assertArrayEquals(
                hex("070a16b4 6b4d4144 f79bdd9d d04a287c"), siv.cmac(hex("6bc1bee2 2e409f96 e93d7e11 7393172a")));
    }

    /** RFC 5297 appendix A.1, deterministic authenticated encryption. */
    @Test
    public void rfc5297A1() throws Exception {
        AesSiv siv = new AesSiv(hex("fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff"));
        byte[] ad = hex("10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627");
        byte[] p = hex("11223344 55667788 99aabbcc ddee");
        byte[] expected = hex("85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c");
        assertArrayEquals(expected, siv.encrypt(p, ad));
        assertArrayEquals(p, siv.decrypt(expected, ad));
        byte[] altered = expected.clone();
        altered[20] ^= 1;
        try {
            siv.decrypt(altered, ad);
            fail("accepted an altered ciphertext");
        } catch (AEADBadTagException expectedFailure) {
            // ok
        }
    }
}
