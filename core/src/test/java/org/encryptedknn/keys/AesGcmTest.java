package org.encryptedknn.keys;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import org.junit.Test;

public class AesGcmTest {

    private static final byte[] AAD = "aad".getBytes(StandardCharsets.UTF_8);

    @Test
    public void keepsItsOwnCopyOfTheKeyAndZeroesItOnClose() throws Exception {
        byte[] key = new byte[32];
        Arrays.fill(key, (byte) 7);
        byte[] message = "message".getBytes(StandardCharsets.UTF_8);
        AesGcm gcm = new AesGcm(key);
        Arrays.fill(key, (byte) 0); // the caller zeroes its array at once
        byte[] sealed = gcm.seal(message, AAD);
        assertArrayEquals(message, gcm.open(sealed, AAD));
        assertThrows(AEADBadTagException.class, () -> gcm.open(sealed, "other".getBytes(StandardCharsets.UTF_8)));
        sealed[sealed.length - 1] ^= 1;
        assertThrows(AEADBadTagException.class, () -> gcm.open(sealed, AAD));

        assertFalse(gcm.isClosed());
        gcm.close();
        assertTrue(gcm.isClosed());
        assertThrows(IllegalStateException.class, () -> gcm.seal(message, AAD));
        assertThrows(IllegalStateException.class, () -> gcm.open(sealed, AAD));
    }

    @Test
    public void refusesAKeyOfAnotherLength() {
        assertThrows(IllegalArgumentException.class, () -> new AesGcm(new byte[16]));
    }
}
