package org.encryptedknn.tools.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.encryptedknn.client.cli.Options;
import org.encryptedknn.corpus.EmbeddedCorpus;
import org.encryptedknn.corpus.Encoder;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.model.WindowCalibration;
import org.encryptedknn.tools.audit.GaussianPool;

/**
 * How the window the encrypted path needs grows with the corpus (docs/performance.md, "The default window"): fits a
 * model on a sample as a deployment would (the first {@code --fit} vectors), then for growing corpus sizes N measures
 * the window reaching the target recall@10 directly on vectors the fit never saw ({@link ModelFitter#calibrate} over
 * N documents, with the model's basis and β) and prints it beside the window the model predicts from its fit-time
 * calibration ({@link WindowCalibration#windowFor}). On the real corpus (up to its size) and on synthetic vectors
 * matched to it.
 *
 * <pre>java … org.encryptedknn.tools.bench.WindowGrowthBench [--encoder all-minilm-l6-v2] [--limit 0=all] [--fit 2000]
 *     [--target 0.95] [--synthetic 2000,4000,8000,16000] [--jitter 1.0] [--prefix-layout augmented|plain]</pre>
 *
 * <p>Synthetic vectors: a real vector drawn at random plus {@code jitter} × a draw of a Gaussian fitted to the real
 * vectors' covariance ({@link GaussianPool}, mean removed), normalized: a kernel density estimate of the real corpus,
 * so the spectrum and the cluster structure are the real ones and the neighbourhoods are new.
 */
public final class WindowGrowthBench {

    public static void main(String[] args) {
        Options a = Options.lenient("WindowGrowthBench", args);
        int fit = a.integer("--fit", 2000);
        double target = a.number("--target", WindowCalibration.DEFAULT_TARGET_RECALL);
        double jitter = a.number("--jitter", 1.0);
        PrefixLayout layout =
                PrefixLayout.parse(a.get("--prefix-layout", PrefixLayout.AUGMENTED.wireName()), "--prefix-layout");
        int[] synthetic = Arrays.stream(
                        a.get("--synthetic", "6000,12000,25000,50000,100000").split(","))
                .filter(s -> !s.isBlank())
                .mapToInt(Integer::parseInt)
                .toArray();
        EmbeddedCorpus corpus = EmbeddedCorpus.load(
                Encoder.parse(a.get("--encoder", Encoder.DEFAULT.wireName())), a.integer("--limit", 0));
        float[][] real = corpus.vectors();
        System.out.printf(
                Locale.ROOT,
                "corpus: %d vectors, d=%d (%s); model fitted on %d, target recall@10 %.2f%n",
                real.length,
                corpus.dimension(),
                corpus.modelName(),
                fit,
                target);

        // the vectors after the fit sample, less the held-out queries of the largest measurement
        int unseen = real.length - fit - Math.min(500, (real.length - fit) / 10);
        List<Integer> realSizes = new ArrayList<>();
        for (int n = 1000; n < unseen; n *= 2) {
            realSizes.add(n);
        }
        realSizes.add(unseen);
        growth("real", real, fit, target, layout, realSizes);

        if (synthetic.length == 0) {
            return;
        }
        float[][] matched = matched(real, fit + Arrays.stream(synthetic).max().orElse(0), jitter, 42);
        List<Integer> sizes = new ArrayList<>();
        for (int n : synthetic) {
            sizes.add(n);
        }
        growth("synthetic (jitter " + jitter + ")", matched, fit, target, layout, sizes);
    }

    private static void growth(
            String label, float[][] vectors, int fit, double target, PrefixLayout layout, List<Integer> sizes) {
        int d = vectors[0].length;
        long t0 = System.nanoTime();
        EncryptionModel model = ModelFitter.fit(
                "growth",
                ModelParameters.defaults(d, Space.COSINE),
                Arrays.copyOf(vectors, fit),
                Instant.now(),
                target,
                layout);
        WindowCalibration c = model.calibration();
        System.out.printf(
                Locale.ROOT,
                "%n%s, %s prefix: fit-time calibration over %d documents, %d queries: k = %d, growth exponent %.2f (%.1f s)%n",
                label,
                layout.wireName(),
                c.referenceSize(),
                c.queries(),
                c.window(),
                c.growth(),
                (System.nanoTime() - t0) / 1e9);
        StringBuilder curve = new StringBuilder("  curve:");
        for (WindowCalibration.Point p : c.curve()) {
            curve.append(String.format(Locale.ROOT, " k=%d %.3f", p.window(), p.recall()));
        }
        System.out.println(curve);
        System.out.printf(Locale.ROOT, "  %9s %9s %12s %12s%n", "N", "queries", "measured k", "predicted k");
        for (int n : sizes) {
            // vectors the model was not fitted on; held-out queries are a tenth (≤ 500) of what is passed: pass N
            // documents plus them, or all there is
            int passed = Math.min(vectors.length - fit, n + Math.min(500, n / 9));
            WindowCalibration m = ModelFitter.calibrate(model, Arrays.copyOfRange(vectors, fit, fit + passed), target);
            System.out.printf(
                    Locale.ROOT,
                    "  %9d %9d %12d %12d%n",
                    m.referenceSize(),
                    m.queries(),
                    m.window(),
                    c.windowFor(m.referenceSize()));
        }
    }

    /** Kernel density estimate of {@code real}: a random real vector + jitter × centred Gaussian draw, normalized. */
    static float[][] matched(float[][] real, int count, double jitter, long seed) {
        int d = real[0].length;
        double[] mean = new double[d];
        for (float[] x : real) {
            for (int j = 0; j < d; j++) {
                mean[j] += x[j] / real.length;
            }
        }
        float[][] noise = GaussianPool.fit(real).sample(count, seed, null);
        SplittableRandom random = new SplittableRandom(seed);
        float[][] out = new float[count][];
        for (int i = 0; i < count; i++) {
            float[] base = real[random.nextInt(real.length)];
            float[] x = new float[d];
            double norm = 0;
            for (int j = 0; j < d; j++) {
                x[j] = (float) (base[j] + jitter * (noise[i][j] - mean[j]));
                norm += x[j] * x[j];
            }
            float inv = (float) (1 / Math.sqrt(norm));
            for (int j = 0; j < d; j++) {
                x[j] *= inv;
            }
            out[i] = x;
        }
        return out;
    }
}
