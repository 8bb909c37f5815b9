package org.encryptedknn.tools.audit;

import java.util.SplittableRandom;
import org.encryptedknn.model.ModelFitter;

/** Seeded sampling helpers (audits are reproducible: every experiment takes an explicit seed). */
public final class Sampling {

    private Sampling() {}

    /** Standard normal (Marsaglia polar method). */
    public static double gaussian(SplittableRandom random) {
        while (true) {
            double u = 2 * random.nextDouble() - 1;
            double v = 2 * random.nextDouble() - 1;
            double s = u * u + v * v;
            if (s > 0 && s < 1) {
                return u * Math.sqrt(-2 * Math.log(s) / s);
            }
        }
    }

    /** A random permutation of 0..n−1 (the one the model fitter uses). */
    public static int[] permutation(int n, SplittableRandom random) {
        return ModelFitter.permutation(n, random);
    }
}
