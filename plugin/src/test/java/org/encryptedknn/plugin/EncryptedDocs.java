package org.encryptedknn.plugin;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.transform.EncryptedVector;

/** Random, structurally valid encrypted vectors for tests (no keys needed: the storage side never checks crypto). */
public final class EncryptedDocs {
    private EncryptedDocs() {}

    public static float[] randomFloats(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    public static byte[] randomNonce(Random random) {
        byte[] n = new byte[16];
        random.nextBytes(n);
        return n;
    }

    public static EncryptedVector random(Random random, EncryptedFieldSpec spec, int cell, int epoch) {
        return new EncryptedVector(
                randomFloats(random, spec.prefixWidth()),
                randomNonce(random),
                cell,
                randomResidual(random, spec),
                epoch);
    }

    /** An unpadded z inside the mapper's bound: a random direction, norm in (0, residual_norm]. */
    public static float[] randomResidual(Random random, EncryptedFieldSpec spec) {
        float[] z = randomFloats(random, spec.residualDimension());
        double norm = 0;
        for (float f : z) {
            norm += (double) f * f;
        }
        double scale = spec.residualNorm() * (0.1 + 0.9 * random.nextDouble()) / Math.sqrt(norm);
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) (z[i] * scale);
        }
        return z;
    }

    /** The JSON object form {p,n,c,z,e}. */
    public static Map<String, Object> toMap(EncryptedVector v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p", v.prefix());
        m.put("n", Base64.getEncoder().encodeToString(v.nonce()));
        m.put("c", v.cell());
        m.put("z", EncryptedVector.encodeFloats(v.keyedResidual()));
        m.put("e", v.epoch());
        return m;
    }
}
