package org.encryptedknn.tools.bench;

import java.util.Locale;
import org.encryptedknn.corpus.SyntheticEmbeddings;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.VectorTransform;

/**
 * Single-thread throughput of the document transform (normalize, R·V_u, cell, SAP_DB, H_c·V_r) at d = 384 and
 * d = 768 on synthetic embeddings, d_pub = d/4, C = 64, nonce derived from a document id.
 *
 * <pre>java -cp target/classes:ejml… org.encryptedknn.tools.bench.TransformBench [seconds-per-dimension]</pre>
 */
public final class TransformBench {

    static final int BATCH = 1024;

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        int[] dims = {384, 768};
        for (int d : dims) {
            run(d, seconds);
        }
    }

    /** {vectors per thread-CPU-second, vectors per wall-clock second}. */
    static double[] measure(double seconds, int perRound, java.util.function.LongSupplier round) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long n = 0;
        long sink = 0;
        long cpu0 = mx.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        while (System.nanoTime() < deadline) {
            sink += round.getAsLong();
            n += perRound;
        }
        double wall = (System.nanoTime() - start) / 1e9;
        double cpu = (mx.getCurrentThreadCpuTime() - cpu0) / 1e9;
        if (sink == 42) {
            System.out.println();
        }
        return new double[] {n / cpu, n / wall};
    }

    static void run(int d, double seconds) {
        SyntheticEmbeddings gen = new SyntheticEmbeddings(d, 64, 42);
        float[][] train = gen.sample(4000, 1);
        float[][] docs = gen.sample(4096, 2);
        ModelParameters params = new ModelParameters(d, Space.COSINE, d / 4, 64, ModelParameters.DEFAULT_BETA, 1);
        long t0 = System.nanoTime();
        EncryptionModel model = ModelFitter.fit("bench", params, train);
        long t1 = System.nanoTime();
        try (KeyDerivation keys = new KeyDerivation(MasterKey.generate());
                VectorTransform transform = new VectorTransform(model, keys)) {
            transform.warmUp();
            long t2 = System.nanoTime();
            String[] ids = new String[docs.length];
            byte[][] nonces = new byte[docs.length][];
            for (int i = 0; i < docs.length; i++) {
                ids[i] = "doc-" + i;
                nonces[i] = transform.documentNonce(docs[i], ids[i], "embedding");
            }
            long sink = 0;
            // warm-up of both paths
            for (int r = 0; r < 3; r++) {
                for (int i = 0; i < docs.length; i++) {
                    sink += transform.encryptDocument(docs[i], nonces[i]).cell();
                }
                sink += transform.encryptDocuments(docs, nonces).length;
            }
            double[] single = measure(seconds / 2, docs.length, () -> {
                long s = 0;
                for (int i = 0; i < docs.length; i++) {
                    s += transform.encryptDocument(docs[i], nonces[i]).cell();
                }
                return s;
            });
            double[] batch = measure(seconds / 2, docs.length, () -> {
                long s = 0;
                for (int off = 0; off < docs.length; off += BATCH) {
                    int n = Math.min(BATCH, docs.length - off);
                    float[][] xs = java.util.Arrays.copyOfRange(docs, off, off + n);
                    byte[][] ns = new byte[n][];
                    for (int i = 0; i < n; i++) {
                        ns[i] = transform.documentNonce(xs[i], ids[off + i], "embedding"); // nonce PRF included
                    }
                    s += transform.encryptDocuments(xs, ns).length;
                }
                return s;
            });
            System.out.printf(
                    Locale.ROOT,
                    "d=%d d_pub=%d C=%d: fit %.1f s (n=%d), cell keys %.1f s (%d MB cached)%n"
                            + "  one at a time (precomputed nonce): %,9.0f vectors/s per CPU-second, %,9.0f vectors/s wall%n"
                            + "  batches of %d (incl. nonce PRF):   %,9.0f vectors/s per CPU-second, %,9.0f vectors/s wall%n",
                    d,
                    d / 4,
                    64,
                    (t1 - t0) / 1e9,
                    train.length,
                    (t2 - t1) / 1e9,
                    transform.cachedBytes() >> 20,
                    single[0],
                    single[1],
                    BATCH,
                    batch[0],
                    batch[1]);
            if (sink == 42) {
                System.out.println();
            }
        }
    }
}
