package org.encryptedknn.he;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.sun.jna.Memory;
import com.sun.jna.ptr.PointerByReference;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * 10^4 hostile ciphertexts and secret keys (truncated, bit-flipped, random, oversized,
 * decompression bombs, wrong parameters, wrong level), at the SEAL level (wrapped in a valid
 * {@link CiphertextWire} form, so they reach the native checks) and at the wire level: each is rejected with an
 * {@link HeException}, or — for a bit flip inside the encrypted payload, which no format check
 * can tell from a genuine ciphertext — loads as a well-formed ciphertext of the right
 * parameters. The JVM never crashes and nothing leaks.
 */
public class CkksHostileInputTest {

    private static final int DIM = 288;
    private static CkksContext ctx;
    private static CkksContext ctx8192;
    private static CkksContext ctxOtherPrimes;
    private static CkksSecretKey sk;
    private static CkksKeyHolder kh;
    private static CkksScorer scorer;
    /** SEAL serializations (unpacked from the wire form), the targets of the SEAL-level corruptions. */
    private static byte[] query;

    private static byte[] result;
    private static byte[] queryWire;
    private static byte[] resultWire;
    private static byte[] key;
    private static byte[] query8192;
    private static byte[] queryOtherPrimes;
    private static byte[] key8192;
    private static long handlesBefore;

    private int rejected;
    private int acceptedPayloadFlips;

    @BeforeClass
    public static void setUp() {
        handlesBefore = NativeMemory.liveHandles();
        Random rnd = new Random(7);
        ctx = CkksContext.createDefault();
        sk = CkksSecretKey.generate(ctx);
        kh = new CkksKeyHolder(ctx, sk);
        scorer = new CkksScorer(ctx);
        queryWire = kh.encryptQuery(HeTestVectors.residual(rnd, DIM));
        resultWire =
                scorer.score(queryWire, HeTestVectors.residuals(rnd, 7, DIM)).get(0);
        query = CiphertextWire.unpack(queryWire, ctx.maxQueryBytes(), "query");
        result = CiphertextWire.unpack(resultWire, ctx.maxResultBytes(), "result");
        key = sk.toBytes();
        ctx8192 = CkksContext.create(CkksParameters.n8192(DIM));
        try (CkksSecretKey k2 = CkksSecretKey.generate(ctx8192);
                CkksKeyHolder h2 = new CkksKeyHolder(ctx8192, k2)) {
            query8192 = h2.encryptQuery(HeTestVectors.residual(rnd, DIM));
            key8192 = k2.toBytes();
        }
        ctxOtherPrimes = CkksContext.create(new CkksParameters(4096, List.of(48), 24, DIM));
        try (CkksSecretKey k3 = CkksSecretKey.generate(ctxOtherPrimes);
                CkksKeyHolder h3 = new CkksKeyHolder(ctxOtherPrimes, k3)) {
            queryOtherPrimes = h3.encryptQuery(HeTestVectors.residual(rnd, DIM));
        }
    }

    @AfterClass
    public static void tearDown() {
        Arrays.fill(key, (byte) 0);
        Arrays.fill(key8192, (byte) 0);
        kh.close();
        sk.close();
        ctx.close();
        ctx8192.close();
        ctxOtherPrimes.close();
        NativeMemory.Stats s = NativeMemory.stats();
        assertEquals("native handles leaked", handlesBefore, s.liveHandles());
        assertEquals("native buffers leaked", 0, s.liveBuffers());
    }

    @Test
    public void genuineInputsAreAccepted() {
        try (CkksQuery q = scorer.loadQuery(queryWire)) {
            assertEquals(1, scorer.score(q, List.of(new float[DIM])).size());
        }
        assertEquals(7, kh.decryptBatch(resultWire, 7).length);
        assertTrue(Arrays.equals(queryWire, CiphertextWire.pack(query)));
        CkksSecretKey.load(ctx, key).close();
    }

    @Test
    public void tenThousandHostileInputs() {
        Random rnd = new Random(42);
        int cases = 0;
        long t0 = System.nanoTime();
        // 1. truncated (every length class, including inside the header)
        for (int i = 0; i < 1500; i++, cases++) {
            byte[] src = pick(rnd);
            int len = i < 40 ? i : rnd.nextInt(src.length);
            byte[] t = Arrays.copyOf(src, len);
            if (rnd.nextBoolean() && len >= 16) {
                setSize(t, len); // consistent header size field: reaches the native checks
            }
            feedExpectReject(src, t);
        }
        // 2. bit flips: in the header / metadata must be rejected (but version 4.1 → 4.0, which is read too); in the
        //    payload may be accepted
        for (int i = 0; i < 3000; i++, cases++) {
            byte[] src = pick(rnd);
            byte[] f = src.clone();
            int pos = i % 3 == 0 ? rnd.nextInt(16) : rnd.nextInt(f.length);
            f[pos] ^= (byte) (1 << rnd.nextInt(8));
            if (pos < 16 && !(pos == 4 && f[4] == 0)) {
                feedExpectReject(src, f);
            } else {
                feedMaybeAccept(src, f);
            }
        }
        // 3. random bytes, half of them behind a valid SEAL header (compression none or zstd)
        for (int i = 0; i < 2000; i++, cases++) {
            byte[] src = pick(rnd);
            byte[] r = new byte[rnd.nextInt(i % 2 == 0 ? 256 : src.length + 1)];
            rnd.nextBytes(r);
            if (i % 2 == 1 && r.length >= 16) {
                validHeader(r, rnd.nextBoolean() ? 0 : 2);
            }
            feedExpectReject(src, r);
        }
        // 4. random payload after the genuine header and first bytes (deep into SEAL's parser)
        for (int i = 0; i < 1500; i++, cases++) {
            byte[] src = pick(rnd);
            byte[] r = src.clone();
            int from = 16 + rnd.nextInt(Math.min(200, r.length - 16));
            for (int j = from; j < r.length; j++) {
                r[j] = (byte) rnd.nextInt(256);
            }
            feedMaybeAccept(src, r);
        }
        // 5. oversized
        for (int i = 0; i < 500; i++, cases++) {
            byte[] src = pick(rnd);
            byte[] o = Arrays.copyOf(src, src.length + 1 + rnd.nextInt(i % 2 == 0 ? 64 : 400_000));
            if (rnd.nextBoolean()) {
                setSize(o, o.length);
            }
            feedExpectReject(src, o);
        }
        // 6. decompression bombs: a small zstd frame of RLE blocks that would inflate to 128 KiB each (refused at the
        //    header: only uncompressed serializations are accepted)
        for (int i = 0; i < 200; i++, cases++) {
            byte[] src = pick(rnd);
            feedExpectReject(src, zstdBomb(1 + rnd.nextInt(2000)));
        }
        // 7. wrong parameters / wrong level / wrong object type
        for (int i = 0; i < 1300; i++, cases++) {
            switch (i % 7) {
                case 0 -> expectReject(() -> scorer.loadQuery(query8192).close()); // N=8192 query, N=4096 scorer
                case 1 -> expectReject(() -> scorer.loadQuery(queryOtherPrimes).close()); // same N, other primes
                case 2 -> expectReject(() -> scorer.loadQuery(resultWire).close()); // result given as query
                case 3 -> expectReject(() -> kh.decryptBatch(queryWire, 1)); // query given as result
                case 4 -> expectReject(() -> CkksSecretKey.load(ctx, key8192).close()); // N=8192 key, N=4096 context
                case 5 -> expectReject(() -> CkksSecretKey.load(ctx, query).close()); // ciphertext given as key
                default -> expectReject(() -> scorer.loadQuery(key).close()); // key given as query
            }
        }
        // 8. the wire form itself: truncated, bit-flipped, random, lying about its length, trailing bytes
        for (int i = 0; i < 1000; i++, cases++) {
            boolean q = rnd.nextBoolean();
            byte[] wire = q ? queryWire : resultWire;
            byte[] bad;
            switch (i % 5) {
                case 0 -> bad = Arrays.copyOf(wire, rnd.nextInt(wire.length));
                case 1 -> {
                    bad = wire.clone();
                    bad[rnd.nextInt(8)] ^= (byte) (1 << rnd.nextInt(8)); // magic or declared length
                }
                case 2 -> {
                    bad = new byte[rnd.nextInt(wire.length + 1)];
                    rnd.nextBytes(bad);
                    if (bad.length >= 4) {
                        System.arraycopy(wire, 0, bad, 0, 4);
                    }
                }
                case 3 -> bad = Arrays.copyOf(wire, wire.length + 1 + rnd.nextInt(64));
                default -> {
                    bad = wire.clone();
                    bad[8 + rnd.nextInt(bad.length - 8)] =
                            (byte) (65 + rnd.nextInt(191)); // a width > 64, or a data byte
                }
            }
            byte[] b = bad;
            if (i % 5 == 4) {
                maybeAccept(() -> feedWire(q, b)); // a changed data byte may still decode to a well-formed ciphertext
            } else {
                expectReject(() -> feedWire(q, b));
            }
        }
        // 9. straight to the native library, skipping the Java header checks
        SealLibrary lib = Natives.lib();
        for (int i = 0; i < 500; i++, cases++) {
            byte[] r = new byte[rnd.nextInt(3) == 0 ? 300_000 + rnd.nextInt(100_000) : rnd.nextInt(2000)];
            rnd.nextBytes(r);
            if (i % 2 == 0 && r.length >= 16) {
                r[0] = 0x5E;
                r[1] = (byte) 0xA1;
                r[2] = 16;
            }
            PointerByReference out = new PointerByReference();
            int rc = ctx.use(c -> lib.eks_query_load(c, r, r.length, out));
            assertNotEquals("native accepted garbage", 0, rc);
            assertEquals(null, out.getValue());
            Memory m = Natives.bytes(r);
            int rk = ctx.use(c -> lib.eks_secret_key_load(c, m, r.length, out));
            Natives.wipe(m);
            assertNotEquals("native accepted a garbage key", 0, rk);
            rejected += 2;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
                "hostile inputs: %d cases (%d rejections, %d payload corruptions loaded as well-formed ciphertexts) in %.1f s%n",
                cases, rejected, acceptedPayloadFlips, secs);
        assertTrue(cases >= 10_000);
        NativeMemory.Stats s = NativeMemory.stats();
        assertEquals(0, s.liveBuffers());
    }

    private byte[] pick(Random rnd) {
        return switch (rnd.nextInt(3)) {
            case 0 -> query;
            case 1 -> result;
            default -> key;
        };
    }

    /** Feeds {@code bad} to the consumer matching the kind of {@code src}; must be rejected. */
    private void feedExpectReject(byte[] src, byte[] bad) {
        expectReject(() -> feed(src, bad));
    }

    private void feedMaybeAccept(byte[] src, byte[] bad) {
        maybeAccept(() -> feed(src, bad));
    }

    /** A corrupted payload that no format check can tell from a genuine one: refused cleanly or loaded. */
    private void maybeAccept(Runnable r) {
        try {
            r.run();
            acceptedPayloadFlips++;
        } catch (HeException e) {
            assertTrue(e.getMessage(), e.isInputError());
            rejected++;
        }
    }

    /** Feeds SEAL-level bytes, in a valid wire form for ciphertexts (keys travel as they are). */
    private static void feed(byte[] src, byte[] bad) {
        if (src == query || src == result) {
            feedWire(src == query, CiphertextWire.pack(bad));
        } else {
            CkksSecretKey.load(ctx, bad).close();
        }
    }

    private static void feedWire(boolean asQuery, byte[] wire) {
        if (asQuery) {
            try (CkksQuery q = scorer.loadQuery(wire)) {
                scorer.score(q, List.of(new float[DIM]));
            }
        } else {
            kh.decryptBatch(wire, 7);
        }
    }

    private void expectReject(Runnable r) {
        try {
            r.run();
        } catch (HeException e) {
            assertTrue(e.kind() + ": " + e.getMessage(), e.isInputError());
            rejected++;
            return;
        }
        fail("hostile input was accepted");
    }

    private static void setSize(byte[] b, long size) {
        for (int i = 0; i < 8; i++) {
            b[8 + i] = (byte) (size >>> (8 * i));
        }
    }

    private static void validHeader(byte[] b, int compr) {
        SealHeader.write(b, compr, b.length);
    }

    /** SEAL header (zstd) + a zstd frame of {@code blocks} RLE blocks of 128 KiB (4 bytes each). */
    static byte[] zstdBomb(int blocks) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[16]);
        o.writeBytes(new byte[] {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD}); // zstd magic
        o.write(0x00); // frame header descriptor: no content size, not single segment, no checksum
        o.write(0x38); // window descriptor: 2^17 = 128 KiB
        int blockSize = 128 * 1024;
        for (int i = 0; i < blocks; i++) {
            int last = i == blocks - 1 ? 1 : 0;
            int hdr = last | (1 << 1) | (blockSize << 3); // RLE block
            o.write(hdr & 0xff);
            o.write((hdr >>> 8) & 0xff);
            o.write((hdr >>> 16) & 0xff);
            o.write(0x41); // the repeated byte
        }
        byte[] b = o.toByteArray();
        validHeader(b, 2);
        return b;
    }
}
