package org.encryptedknn.tools.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksQuery;
import org.encryptedknn.he.CkksScorer;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.he.NativeMemory;

/**
 * CKKS rescoring micro-benchmark (single thread, so "one core"): key-holder encryption of one
 * query (from scratch, and online on an encryption of zero prepared by the key holder's background
 * thread), server packed scoring of K candidates (query load + ⌈K/blocks⌉
 * encode/multiply_plain/serialize), key-holder decryption, and wire sizes.
 *
 * <pre>
 * java -cp target/classes:$(jna jar) org.encryptedknn.tools.bench.CkksBench [K=100] [dim=288] [iterations=300]
 * </pre>
 * Vectors are residual-shaped random (Gaussian direction, norm ≈ 0.5).
 */
public final class CkksBench {

    private CkksBench() {}

    public static void main(String[] args) {
        int k = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int dim = args.length > 1 ? Integer.parseInt(args[1]) : 288;
        int iters = args.length > 2 ? Integer.parseInt(args[2]) : 300;
        System.out.printf(
                Locale.ROOT,
                "Microsoft SEAL %s, K=%d, d-d_pub=%d, %d iterations, 1 thread%n",
                NativeMemory.sealVersion(),
                k,
                dim,
                iters);
        run(CkksParameters.n4096(dim), k, dim, iters);
        run(CkksParameters.n8192(dim), k, dim, iters);
    }

    static void run(CkksParameters params, int k, int dim, int iters) {
        Random rnd = new Random(1);
        try (CkksContext ctx = CkksContext.create(params);
                CkksSecretKey sk = CkksSecretKey.generate(ctx);
                CkksKeyHolder kh = new CkksKeyHolder(ctx, sk);
                CkksKeyHolder scratch = new CkksKeyHolder(ctx, sk, 0)) {
            CkksScorer scorer = new CkksScorer(ctx);
            List<float[]> cands = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                cands.add(residual(rnd, dim));
            }
            float[] q = residual(rnd, dim);
            int warm = Math.max(20, iters / 5);
            double[] enc = new double[iters];
            double[] score = new double[iters];
            double[] dec = new double[iters];
            double[] encCpu = new double[iters];
            double[] scoreCpu = new double[iters];
            double[] decCpu = new double[iters];
            double[] scratchEnc = new double[iters];
            double[] scratchCpu = new double[iters];
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            byte[] query = null;
            List<byte[]> results = null;
            double maxErr = 0;
            for (int i = -warm; i < iters; i++) {
                long s0 = mx.getCurrentThreadCpuTime();
                long w0 = System.nanoTime();
                scratch.encryptQuery(q);
                long w1 = System.nanoTime();
                long s1 = mx.getCurrentThreadCpuTime();
                long c0 = mx.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                query = kh.encryptQuery(q);
                long t1 = System.nanoTime();
                long c1 = mx.getCurrentThreadCpuTime();
                try (CkksQuery loaded = scorer.loadQuery(query)) {
                    results = scorer.score(loaded, cands);
                }
                long t2 = System.nanoTime();
                long c2 = mx.getCurrentThreadCpuTime();
                double[] s = kh.decryptScores(results, k);
                long t3 = System.nanoTime();
                long c3 = mx.getCurrentThreadCpuTime();
                if (i >= 0) {
                    scratchEnc[i] = (w1 - w0) / 1e6;
                    scratchCpu[i] = (s1 - s0) / 1e6;
                    enc[i] = (t1 - t0) / 1e6;
                    score[i] = (t2 - t1) / 1e6;
                    dec[i] = (t3 - t2) / 1e6;
                    encCpu[i] = (c1 - c0) / 1e6;
                    scoreCpu[i] = (c2 - c1) / 1e6;
                    decCpu[i] = (c3 - c2) / 1e6;
                    for (int j = 0; j < k; j++) {
                        double exact = 0;
                        for (int x = 0; x < dim; x++) {
                            exact += (double) q[x] * cands.get(j)[x];
                        }
                        maxErr = Math.max(maxErr, Math.abs(exact - s[j]));
                    }
                }
            }
            long download = results.stream().mapToLong(b -> b.length).sum();
            System.out.printf(
                    Locale.ROOT,
                    "%nN=%d q=%s bits, scale=2^%d, B=%d, %d blocks/ciphertext, %d result ciphertexts for K=%d%n",
                    params.polyDegree(),
                    params.coeffModulusBits(),
                    params.scaleBits(),
                    params.blockWidth(),
                    ctx.blocks(),
                    results.size(),
                    k);
            System.out.printf(
                    Locale.ROOT,
                    "  key holder: encrypt one query from scratch    wall p50 %7.3f p95 %7.3f ms | thread CPU p50 %7.3f p95 %7.3f ms%n",
                    pct(scratchEnc, 50),
                    pct(scratchEnc, 95),
                    pct(scratchCpu, 50),
                    pct(scratchCpu, 95));
            System.out.printf(
                    Locale.ROOT,
                    "  key holder: encrypt one query, prepared zero  wall p50 %7.3f p95 %7.3f ms | thread CPU p50 %7.3f p95 %7.3f ms%n",
                    pct(enc, 50),
                    pct(enc, 95),
                    pct(encCpu, 50),
                    pct(encCpu, 95));
            System.out.printf(
                    Locale.ROOT,
                    "  server:     load query + score %3d candidates  wall p50 %7.3f p95 %7.3f ms | thread CPU p50 %7.3f p95 %7.3f ms%n",
                    k,
                    pct(score, 50),
                    pct(score, 95),
                    pct(scoreCpu, 50),
                    pct(scoreCpu, 95));
            System.out.printf(
                    Locale.ROOT,
                    "  key holder: decrypt (%2d ct)                    wall p50 %7.3f p95 %7.3f ms | thread CPU p50 %7.3f p95 %7.3f ms%n",
                    results.size(),
                    pct(dec, 50),
                    pct(dec, 95),
                    pct(decCpu, 50),
                    pct(decCpu, 95));
            System.out.printf(
                    Locale.ROOT,
                    "  sizes: query upload %d B; result per batch %d B; download for K=%d %d B (%.1f KiB, %.0f B/candidate)%n",
                    query.length,
                    results.get(0).length,
                    k,
                    download,
                    download / 1024.0,
                    (double) download / k);
            System.out.printf(Locale.ROOT, "  max |decrypted - exact| over %d scores: %.2e%n", iters * k, maxErr);
        }
    }

    static float[] residual(Random rnd, int dim) {
        double[] g = new double[dim];
        double s = 0;
        for (int i = 0; i < dim; i++) {
            g[i] = rnd.nextGaussian();
            s += g[i] * g[i];
        }
        double f = 0.5 / Math.sqrt(s);
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = (float) (g[i] * f);
        }
        return v;
    }

    static double pct(double[] v, int p) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[Math.min(c.length - 1, (int) Math.ceil(p / 100.0 * c.length) - 1)];
    }
}
