package org.encryptedknn.prefix;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.PrfStream;
import org.encryptedknn.keys.SecretGuard;
import org.encryptedknn.keys.ZeroizableKey;

/**
 * Scale-and-Perturb (SAP) β-approximate distance-comparison-preserving encryption, with the
 * CAPRISE split of the noise budget (Algorithm 1 of the CAPRISE paper):
 *
 * <pre>
 *   database vector:  c = s·m + λ,  λ uniform in the ball of radius 3sβ/8
 *   query vector:     c = s·m + η,  η uniform in the ball of radius  sβ/8
 * </pre>
 *
 * so that for a query q and database vectors d1, d2, ‖q−d1‖ &lt; ‖q−d2‖ − β implies
 * ‖c_q−c_1‖ &lt; ‖c_q−c_2‖ (s/8 + 3s/8 = s/2 on each side), while comparisons among database
 * vectors (noise up to 3sβ/4 per pair) are blurred.
 *
 * <p>The noise is regenerated from the nonce: the keystream of AES-256-CTR under the SAP PRF key
 * with the 16-byte nonce as initial counter block. Its first 8 bytes give x' ∈ (0,1) (radius
 * R·x'^(1/d)); the following 8·(d rounded up to even) bytes give d Gaussians by Box–Muller (the
 * direction), see {@link PrfStream}. The key holder decrypts with the same nonce.
 *
 * <p>Thread-safe: per-thread cipher and scratch buffers. {@link #close()} waits for calls in progress, then zeroes
 * the PRF key and the per-thread noise buffers and re-keys the per-thread ciphers with a zero key; later calls fail.
 */
public final class ScaleAndPerturb implements AutoCloseable {

    /** Nonce length in bytes (the AES-CTR initial counter block). */
    public static final int NONCE_LENGTH = 16;

    private final int dimension;
    private final double scale;
    private final double beta;
    private final ZeroizableKey key;
    private final ThreadLocal<Scratch> scratch;
    private final Set<Scratch> scratches = ConcurrentHashMap.newKeySet();
    private final SecretGuard guard = new SecretGuard("SAP instance");

    /**
     * @param prfKey    32-byte SAP PRF key (copied; the caller may zero its array)
     * @param scale     s &gt; 0
     * @param beta      absolute approximation factor β ≥ 0, in the units of the plaintext vectors
     * @param dimension length of the vectors encrypted
     */
    public ScaleAndPerturb(byte[] prfKey, double scale, double beta, int dimension) {
        Objects.requireNonNull(prfKey, "prfKey");
        if (prfKey.length != 32) {
            throw new IllegalArgumentException("SAP PRF key must be 32 bytes");
        }
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("SAP scale must be positive and finite, got " + scale);
        }
        if (!(beta >= 0) || Double.isInfinite(beta)) {
            throw new IllegalArgumentException("SAP beta must be >= 0 and finite, got " + beta);
        }
        if (dimension < 1) {
            throw new IllegalArgumentException("SAP dimension must be >= 1, got " + dimension);
        }
        this.dimension = dimension;
        this.scale = scale;
        this.beta = beta;
        this.key = new ZeroizableKey(prfKey, "AES");
        this.scratch = ThreadLocal.withInitial(() -> {
            Scratch s = new Scratch(dimension);
            scratches.add(s);
            return s;
        });
    }

    /** The SAP instance of a model epoch: PRF key and scale s ∈ [1,2) derived from the master key. */
    public static ScaleAndPerturb derive(
            KeyDerivation keys, String modelId, byte[] modelSalt, int epoch, double beta, int dimension) {
        byte[] prf = keys.sapPrfKey(modelId, modelSalt, epoch);
        try {
            return new ScaleAndPerturb(prf, keys.sapScale(modelId, modelSalt, epoch), beta, dimension);
        } finally {
            Arrays.fill(prf, (byte) 0);
        }
    }

    public int dimension() {
        return dimension;
    }

    public double scale() {
        return scale;
    }

    /** Absolute β. */
    public double beta() {
        return beta;
    }

    /** Noise radius of database vectors, 3sβ/8. */
    public double documentRadius() {
        return 3.0 * scale * beta / 8.0;
    }

    /** Noise radius of query vectors, sβ/8. */
    public double queryRadius() {
        return scale * beta / 8.0;
    }

    public float[] encryptDocument(float[] u, byte[] nonce) {
        return encrypt(u, nonce, documentRadius(), new float[dimension]);
    }

    public float[] encryptQuery(float[] u, byte[] nonce) {
        return encrypt(u, nonce, queryRadius(), new float[dimension]);
    }

    /** Encrypts {@code u} into {@code out} (may not alias {@code u}); {@code out} is returned. */
    public float[] encryptDocument(float[] u, byte[] nonce, float[] out) {
        return encrypt(u, nonce, documentRadius(), out);
    }

    /** Recovers m = (c − λ)/s, regenerating λ from the nonce: {@link #decryptToDouble} rounded to float32. */
    public float[] decrypt(float[] c, byte[] nonce, boolean isQuery) {
        double[] exact = decryptToDouble(c, nonce, isQuery);
        float[] m = new float[dimension];
        for (int i = 0; i < dimension; i++) {
            m[i] = (float) exact[i];
        }
        return m;
    }

    /** Recovers m = (c − λ)/s in doubles, without rounding to float32 (re-keying uses it directly). */
    public double[] decryptToDouble(float[] c, byte[] nonce, boolean isQuery) {
        checkLength(c);
        return guard.use(() -> {
            Scratch s = scratch.get();
            noise(nonce, isQuery ? queryRadius() : documentRadius(), s);
            double[] m = new double[dimension];
            double inv = 1.0 / scale;
            for (int i = 0; i < dimension; i++) {
                m[i] = (c[i] - s.noise[i]) * inv;
            }
            return m;
        });
    }

    /** The noise vector λ (or η) a nonce produces, for tests and audits. */
    public double[] noise(byte[] nonce, boolean isQuery) {
        return guard.use(() -> {
            Scratch s = scratch.get();
            noise(nonce, isQuery ? queryRadius() : documentRadius(), s);
            return Arrays.copyOf(s.noise, dimension);
        });
    }

    private float[] encrypt(float[] u, byte[] nonce, double radius, float[] out) {
        checkLength(u);
        if (out.length != dimension) {
            throw new IllegalArgumentException("output length " + out.length + " != SAP dimension " + dimension);
        }
        return guard.use(() -> {
            Scratch s = scratch.get();
            noise(nonce, radius, s);
            for (int i = 0; i < dimension; i++) {
                out[i] = (float) (scale * u[i] + s.noise[i]);
            }
            return out;
        });
    }

    /** Waits for calls in progress, then zeroes the key and the noise buffers; the instance is unusable afterwards. */
    @Override
    public void close() {
        guard.close(() -> {
            key.destroy();
            for (Scratch s : scratches) {
                Arrays.fill(s.stream, (byte) 0);
                Arrays.fill(s.noise, 0);
                try {
                    s.cipher.init(Cipher.ENCRYPT_MODE, ZeroizableKey.zeroAes(32), new IvParameterSpec(new byte[16]));
                } catch (GeneralSecurityException e) {
                    // best effort: the key bytes themselves are zeroed above
                }
            }
            scratches.clear();
        });
    }

    private void noise(byte[] nonce, double radius, Scratch s) {
        Objects.requireNonNull(nonce, "nonce");
        if (nonce.length != NONCE_LENGTH) {
            throw new IllegalArgumentException("SAP nonce must be " + NONCE_LENGTH + " bytes, got " + nonce.length);
        }
        try {
            s.cipher.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(nonce));
            s.cipher.doFinal(s.zeros, 0, s.zeros.length, s.stream, 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SAP PRF failed", e);
        }
        double xPrime = PrfStream.toUniform(PrfStream.readLong(s.stream, 0));
        PrfStream.gaussians(s.stream, 8, s.noise, dimension);
        double norm2 = 0;
        for (int i = 0; i < dimension; i++) {
            norm2 += s.noise[i] * s.noise[i];
        }
        double r = radius * StrictMath.pow(xPrime, 1.0 / dimension);
        double f = norm2 > 0 ? r / Math.sqrt(norm2) : 0.0;
        for (int i = 0; i < dimension; i++) {
            s.noise[i] *= f;
        }
    }

    private void checkLength(float[] v) {
        Objects.requireNonNull(v, "vector");
        if (v.length != dimension) {
            throw new IllegalArgumentException("vector length " + v.length + " != SAP dimension " + dimension);
        }
    }

    private static final class Scratch {
        final Cipher cipher;
        final byte[] zeros;
        final byte[] stream;
        final double[] noise;

        Scratch(int d) {
            try {
                cipher = Cipher.getInstance("AES/CTR/NoPadding");
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/CTR unavailable", e);
            }
            int bytes = 8 + 8 * (d + (d & 1));
            zeros = new byte[bytes];
            stream = new byte[bytes];
            noise = new double[d];
        }
    }

    @Override
    public String toString() {
        return "ScaleAndPerturb[d=" + dimension + ", beta=" + beta + ", key redacted]";
    }
}
