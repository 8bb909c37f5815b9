package org.encryptedknn.prefix;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.junit.Test;

public class ScaleAndPerturbTest {

    private static final KeyDerivation KEYS =
            new KeyDerivation(MasterKey.fromBase64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));

    private static ScaleAndPerturb sap(int d, double beta) {
        return ScaleAndPerturb.derive(KEYS, "sap-test", null, 1, beta, d);
    }

    private static float[] gaussian(SplittableRandom r, int d, double scale) {
        float[] v = new float[d];
        for (int i = 0; i < d; i++) {
            double u1 = r.nextDouble();
            double u2 = r.nextDouble();
            v[i] = (float) (scale * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    private static byte[] nonce(int i) {
        byte[] n = new byte[16];
        n[0] = (byte) i;
        n[1] = (byte) (i >>> 8);
        n[2] = (byte) (i >>> 16);
        n[15] = 7;
        return n;
    }

    static double dist(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double t = (double) a[i] - b[i];
            s += t * t;
        }
        return Math.sqrt(s);
    }

    @Test
    public void roundTripIsExactUpToFloat() {
        SplittableRandom r = new SplittableRandom(1);
        ScaleAndPerturb sap = sap(96, 0.4);
        for (int k = 0; k < 200; k++) {
            float[] m = gaussian(r, 96, 0.1);
            byte[] n = PrefixNonces.random();
            float[] c = sap.encryptDocument(m, n);
            float[] back = sap.decrypt(c, n, false);
            float[] cq = sap.encryptQuery(m, n);
            float[] backQ = sap.decrypt(cq, n, true);
            for (int i = 0; i < 96; i++) {
                assertEquals(m[i], back[i], 1e-6);
                assertEquals(m[i], backQ[i], 1e-6);
            }
            assertTrue("ciphertext must differ from the scaled plaintext", dist(c, scaled(m, sap.scale())) > 0);
        }
    }

    private static float[] scaled(float[] m, double s) {
        float[] out = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            out[i] = (float) (m[i] * s);
        }
        return out;
    }

    @Test
    public void nonceDeterminism() {
        ScaleAndPerturb sap = sap(32, 0.5);
        float[] m = gaussian(new SplittableRandom(2), 32, 0.2);
        assertArrayEquals(sap.encryptDocument(m, nonce(1)), sap.encryptDocument(m, nonce(1)), 0f);
        assertFalse(Arrays.equals(sap.encryptDocument(m, nonce(1)), sap.encryptDocument(m, nonce(2))));
        // another epoch's key gives another ciphertext for the same nonce
        ScaleAndPerturb other = ScaleAndPerturb.derive(KEYS, "sap-test", null, 2, 0.5, 32);
        assertFalse(Arrays.equals(sap.encryptDocument(m, nonce(1)), other.encryptDocument(m, nonce(1))));
    }

    @Test
    public void noiseIsInsideTheBudgetAndFillsTheBall() {
        for (int d : new int[] {2, 96}) {
            ScaleAndPerturb sap = sap(d, 0.8);
            double maxDb = 0;
            double maxQ = 0;
            double meanDb = 0;
            int n = 5000;
            double[] sum = new double[d];
            for (int i = 0; i < n; i++) {
                double[] l = sap.noise(nonce(i), false);
                double[] e = sap.noise(nonce(i), true);
                double nl = norm(l);
                double ne = norm(e);
                assertTrue(nl < sap.documentRadius());
                assertTrue(ne < sap.queryRadius());
                assertEquals(3.0, nl / ne, 1e-9); // same nonce: same direction, radius ratio 3
                maxDb = Math.max(maxDb, nl);
                maxQ = Math.max(maxQ, ne);
                meanDb += nl / n;
                for (int j = 0; j < d; j++) {
                    sum[j] += l[j] / n;
                }
            }
            // uniform in the ball: E‖λ‖ = R·d/(d+1), mean vector ≈ 0
            assertEquals(sap.documentRadius() * d / (d + 1.0), meanDb, 0.02 * sap.documentRadius());
            assertTrue(norm(sum) < 0.1 * sap.documentRadius());
            assertTrue(maxDb > 0.95 * sap.documentRadius());
        }
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x * x;
        }
        return Math.sqrt(s);
    }

    /** Vectors with norms spread over [0.1, 1.0] (so that distances vary in every dimension). */
    private static float[][] pool(SplittableRandom r, int d) {
        float[][] pool = new float[2000][];
        for (int i = 0; i < pool.length; i++) {
            float[] v = gaussian(r, d, 1.0 / Math.sqrt(d));
            double f = (0.1 + 0.9 * r.nextDouble()) / Math.max(1e-9, norm(v));
            for (int j = 0; j < d; j++) {
                v[j] *= (float) f;
            }
            pool[i] = v;
        }
        return pool;
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    /** How one random triple (a, b, c) counts: not compared, compared with the plaintext order kept, or flipped. */
    private enum Outcome {
        SKIPPED,
        KEPT,
        FLIPPED;

        static Outcome of(boolean orderKept) {
            return orderKept ? KEPT : FLIPPED;
        }
    }

    @FunctionalInterface
    private interface TripleJudge {
        Outcome judge(int a, int b, int c);
    }

    /** [compared, flipped] over {@code triples} random index triples (a, b, c) of {@code n}, each judged by {@code judge}. */
    private static long[] countTriples(int n, int triples, long seed, TripleJudge judge) {
        SplittableRandom r = new SplittableRandom(seed);
        long compared = 0;
        long flipped = 0;
        for (int t = 0; t < triples; t++) {
            int a = r.nextInt(n);
            int b = r.nextInt(n);
            int c = r.nextInt(n);
            Outcome outcome = judge.judge(a, b, c);
            if (outcome != Outcome.SKIPPED) {
                compared++;
            }
            if (outcome == Outcome.FLIPPED) {
                flipped++;
            }
        }
        return new long[] {compared, flipped};
    }

    private static float[][] encryptDocuments(ScaleAndPerturb sap, float[][] pool) {
        float[][] db = new float[pool.length][];
        for (int i = 0; i < pool.length; i++) {
            db[i] = sap.encryptDocument(pool[i], nonce(i));
        }
        return db;
    }

    private static float[][] encryptQueries(ScaleAndPerturb sap, float[][] pool) {
        float[][] q = new float[pool.length][];
        for (int i = 0; i < pool.length; i++) {
            q[i] = sap.encryptQuery(pool[i], nonce(1_000_000 + i));
        }
        return q;
    }

    private static boolean distinct(int a, int b, int c) {
        return a != b && a != c && b != c;
    }

    /** [satisfied, violated] query↔DB comparisons whose plaintext margin exceeds β (the β-DCP guarantee). */
    private static long[] queryDbTriples(ScaleAndPerturb sap, float[][] pool, int triples, double beta, long seed) {
        float[][] db = encryptDocuments(sap, pool);
        float[][] q = encryptQueries(sap, pool);
        return countTriples(pool.length, triples, seed, (a, b, c) -> {
            double d1 = dist(pool[a], pool[b]);
            double d2 = dist(pool[a], pool[c]);
            if (d1 < d2 - beta) {
                return Outcome.of(dist(q[a], db[b]) < dist(q[a], db[c]));
            }
            if (d2 < d1 - beta) {
                return Outcome.of(dist(q[a], db[c]) < dist(q[a], db[b]));
            }
            return Outcome.SKIPPED;
        });
    }

    /** Flip rate of DB↔DB comparisons: [comparisons, flips] with margin > minMargin. */
    private static long[] dbDbTriples(ScaleAndPerturb sap, float[][] pool, int triples, double minMargin, long seed) {
        float[][] db = encryptDocuments(sap, pool);
        return countTriples(pool.length, triples, seed, (a, b, c) -> {
            double d1 = dist(pool[a], pool[b]);
            double d2 = dist(pool[a], pool[c]);
            if (!distinct(a, b, c) || Math.abs(d1 - d2) <= minMargin) {
                return Outcome.SKIPPED;
            }
            return Outcome.of((d1 < d2) == (dist(db[a], db[b]) < dist(db[a], db[c])));
        });
    }

    @Test
    public void betaDcpHoldsForQueriesAndDbComparisonsAreBlurred() {
        for (int d : new int[] {2, 8, 96}) {
            double beta = 0.3;
            SplittableRandom r = new SplittableRandom(d);
            float[][] pool = pool(r, d);
            ScaleAndPerturb sap = sap(d, beta);
            long[] qd = queryDbTriples(sap, pool, 100_000, beta, 11);
            assertEquals("query↔DB comparisons with margin > β violated at d=" + d, 0, qd[1]);
            assertTrue("too few triples satisfied the margin at d=" + d + ": " + qd[0], qd[0] > 10_000);

            long[] allDb = dbDbTriples(sap, pool, 100_000, 0, 12);
            long[] farDb = dbDbTriples(sap, pool, 100_000, beta, 13);
            long[] allQ = queryDbFlips(sap, pool, 100_000, 14);
            System.out.printf(
                    Locale.ROOT,
                    "SAP d=%3d β=%.2f s=%.3f: query↔DB margin>β %d triples, 0 violations; flip rate all margins: query↔DB %.4f,"
                            + " DB↔DB %.4f; DB↔DB flip rate with margin>β: %.5f (%d of %d)%n",
                    d,
                    beta,
                    sap.scale(),
                    qd[0],
                    allQ[1] / (double) allQ[0],
                    allDb[1] / (double) allDb[0],
                    farDb[1] / (double) farDb[0],
                    farDb[1],
                    farDb[0]);
            assertTrue("DB↔DB comparisons must be blurred at d=" + d, allDb[1] > 0);
            assertTrue(
                    "DB↔DB must flip more often than query↔DB at d=" + d,
                    allDb[1] / (double) allDb[0] > allQ[1] / (double) allQ[0]);
            if (d == 2) {
                assertTrue("DB↔DB comparisons beyond β must sometimes flip at d=" + d, farDb[1] > 0);
            }
        }
    }

    /** [comparisons, flips] of query↔DB over all margins. */
    private static long[] queryDbFlips(ScaleAndPerturb sap, float[][] pool, int triples, long seed) {
        float[][] db = encryptDocuments(sap, pool);
        float[][] q = encryptQueries(sap, pool);
        return countTriples(pool.length, triples, seed, (a, b, c) -> {
            if (!distinct(a, b, c)) {
                return Outcome.SKIPPED;
            }
            return Outcome.of(
                    (dist(pool[a], pool[b]) < dist(pool[a], pool[c])) == (dist(q[a], db[b]) < dist(q[a], db[c])));
        });
    }

    @Test
    public void theTripleTestCanFail() {
        // An over-budget query noise (twice the DB budget) must produce violations in low dimension:
        // evidence that the zero-violation test above has power.
        int d = 2;
        double beta = 0.3;
        SplittableRandom r = new SplittableRandom(5);
        float[][] pool = new float[2000][];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = gaussian(r, d, 0.6 / Math.sqrt(d));
        }
        ScaleAndPerturb honest = sap(d, beta);
        ScaleAndPerturb broken =
                new ScaleAndPerturb(new byte[32], honest.scale(), beta * 2, d); // query radius sβ/4, DB radius 3sβ/4
        long violated = queryDbTriples(broken, pool, 100_000, beta, 3)[1];
        assertTrue("an over-budget noise should violate β-DCP sometimes", violated > 0);
    }

    @Test
    public void noncePolicy() {
        PrefixNonces nonces = PrefixNonces.derive(KEYS, "m1", null);
        float[] v = {1f, 2f, 3f};
        assertArrayEquals(
                nonces.forDocument("doc-1", "embedding", 1, v), nonces.forDocument("doc-1", "embedding", 1, v));
        assertFalse(Arrays.equals(
                nonces.forDocument("doc-1", "embedding", 1, v), nonces.forDocument("doc-1", "embedding", 2, v)));
        assertFalse(Arrays.equals(
                nonces.forDocument("doc-1", "embedding", 1, v), nonces.forDocument("doc-2", "embedding", 1, v)));
        assertFalse(Arrays.equals(
                nonces.forDocument("doc-1", "embedding", 1, v), nonces.forDocument("doc-1", "other", 1, v)));
        // the vector is covered: a new version of the document gets a fresh nonce (fresh noise)
        assertFalse(Arrays.equals(
                nonces.forDocument("doc-1", "embedding", 1, v),
                nonces.forDocument("doc-1", "embedding", 1, new float[] {1f, 2f, 3.0001f})));
        // length-prefixed: ("ab","c") ≠ ("a","bc")
        assertFalse(Arrays.equals(nonces.forDocument("ab", "c", 1, v), nonces.forDocument("a", "bc", 1, v)));
        assertEquals(16, nonces.forDocument("doc-1", "embedding", 1, v).length);
        assertArrayEquals(nonces.forQuery(v, 1), nonces.forQuery(v.clone(), 1));
        assertFalse(Arrays.equals(nonces.forDocument("doc-1", "embedding", 1, v), nonces.forQuery(v, 1)));
        assertFalse(Arrays.equals(
                nonces.forQuery(v, 1), PrefixNonces.derive(KEYS, "m2", null).forQuery(v, 1)));
        assertFalse(Arrays.equals(PrefixNonces.random(), PrefixNonces.random()));
    }

    @Test(expected = IllegalArgumentException.class)
    public void rejectsShortNonce() {
        sap(4, 0.1).encryptDocument(new float[4], new byte[12]);
    }
}
