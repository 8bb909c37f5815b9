package org.encryptedknn.tools.bench;

import java.util.Arrays;
import java.util.BitSet;
import java.util.Locale;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.Space;
import org.encryptedknn.transform.EncryptedQuery;
import org.encryptedknn.transform.EncryptedVector;
import org.encryptedknn.transform.VectorTransform;

/**
 * What the key holder's per-cell work costs a query (docs/performance.md, "The cells a window touches"): the key holder
 * computes one keyed residual query H_c r_q per distinct cell among the window's hits, so its cost is that count times
 * one cell's product. For each cell jitter, fits the model with every default on {@code --training} of the workload's
 * vectors ({@link ScaleWorkload}: {@code --vectors}, {@code --corpus}, {@code --queries}), sets the jitter
 * ({@link EncryptionModel#withCellJitter}), encrypts every vector in memory under a fresh random key, takes each
 * query's window as the k nearest stored prefixes to its stage-1 prefix by brute force (what the HNSW graph
 * approximates), and prints the mean number of distinct cells per window and the one-thread time of their keyed
 * queries. No node.
 *
 * <pre>java … org.encryptedknn.tools.bench.WindowCellsBench [--vectors 100000] [--k 100,300] [--jitters 4,2,1,0]
 *     [--training 2000] [--queries 200]</pre>
 */
public final class WindowCellsBench {

    public static void main(String[] args) throws Exception {
        Options a = Options.lenient("WindowCellsBench", args);
        int[] windows = Arrays.stream(a.get("--k", "100,300").split(","))
                .mapToInt(Integer::parseInt)
                .toArray();
        double[] jitters = Arrays.stream(a.get("--jitters", "4,2,1,0").split(","))
                .mapToDouble(Double::parseDouble)
                .toArray();
        ScaleWorkload w = ScaleWorkload.load(a);
        w.truth(); // the workload's exact top 10 runs in the background: let it finish before anything is timed
        float[][] docs = w.vectors();
        float[][] queries = w.queries();
        EncryptionModel fitted = ModelFitter.fit(
                "cells",
                ModelParameters.defaults(w.dimension(), Space.COSINE),
                w.trainingSample(a.integer("--training", 2000)));
        System.out.printf(
                Locale.ROOT,
                "%d documents (%s), %d queries, %d cells; window = the k nearest stage-1 prefixes (brute force)%n",
                docs.length,
                w.source(),
                queries.length,
                fitted.parameters().cells());
        System.out.printf(
                Locale.ROOT, "%-12s %6s %16s %26s%n", "cell jitter", "k", "distinct cells", "keyed queries ms/query");
        for (double jitter : jitters) {
            EncryptionModel model = fitted.withCellJitter(jitter);
            try (KeyDerivation keys = new KeyDerivation(MasterKey.generate());
                    VectorTransform transform = new VectorTransform(model, keys)) {
                byte[][] nonces = new byte[docs.length][];
                for (int i = 0; i < docs.length; i++) {
                    nonces[i] = transform.documentNonce(docs[i], "d" + i, "embedding");
                }
                EncryptedVector[] records = transform.encryptDocuments(docs, nonces);
                transform.warmUp(); // the cost measured is the products, not the cells' derivation
                for (int k : windows) {
                    double cells = 0;
                    long nanos = 0;
                    for (float[] x : queries) {
                        EncryptedQuery q = transform.encryptQuery(x);
                        BitSet touched = new BitSet();
                        for (int i : nearest(q.prefix(), records, k)) {
                            touched.set(records[i].cell());
                        }
                        cells += touched.cardinality();
                        long start = System.nanoTime();
                        for (int c = touched.nextSetBit(0); c >= 0; c = touched.nextSetBit(c + 1)) {
                            transform.keyedResidualQuery(q, c);
                        }
                        nanos += System.nanoTime() - start;
                        q.wipe();
                    }
                    System.out.printf(
                            Locale.ROOT,
                            "%-12s %6d %16.1f %26.3f%n",
                            jitter,
                            k,
                            cells / queries.length,
                            nanos / 1e6 / queries.length);
                }
            }
        }
    }

    /** Indices of the k records whose stored prefix is nearest {@code p} (L2, what the prefix graph ranks by). */
    private static int[] nearest(float[] p, EncryptedVector[] records, int k) {
        double[] dist = new double[records.length];
        Integer[] order = new Integer[records.length];
        for (int i = 0; i < records.length; i++) {
            float[] r = records[i].prefix();
            double s = 0;
            for (int j = 0; j < p.length; j++) {
                double d = p[j] - r[j];
                s += d * d;
            }
            dist[i] = s;
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Double.compare(dist[x], dist[y]));
        int[] out = new int[Math.min(k, order.length)];
        for (int i = 0; i < out.length; i++) {
            out[i] = order[i];
        }
        return out;
    }
}
