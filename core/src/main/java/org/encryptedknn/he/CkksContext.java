package org.encryptedknn.he;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * A SEAL CKKS context for one {@link CkksParameters} set (with its encoder and evaluator).
 * Needed by both sides; holds no key. Thread-safe. Close it when done (objects created from it
 * keep the native context alive, so the order of closing does not matter).
 */
public final class CkksContext extends NativeHandle {

    private final CkksParameters params;
    private final int blocks;
    private final long maxQueryBytes;
    private final long maxResultBytes;
    private final long maxSecretKeyBytes;
    private final double maxAbsValue;

    private CkksContext(Pointer p, CkksParameters params) {
        super(p, ptr -> Natives.lib().eks_context_free(ptr), "CKKS context");
        this.params = params;
        long[] info = new long[10];
        use(ptr -> {
            Natives.check(Natives.lib().eks_context_info(ptr, info), "context info");
            return null;
        });
        this.blocks = (int) info[1];
        this.maxQueryBytes = info[3];
        this.maxResultBytes = info[4];
        this.maxSecretKeyBytes = info[5];
        this.maxAbsValue = info[9] / 1e6;
    }

    /** Creates the context; SEAL validates the parameters (128-bit security, NTT-friendly primes). */
    public static CkksContext create(CkksParameters params) {
        int[] bits =
                params.coeffModulusBits().stream().mapToInt(Integer::intValue).toArray();
        PointerByReference out = new PointerByReference();
        Natives.check(
                Natives.lib()
                        .eks_context_create(
                                params.polyDegree(), bits, bits.length, params.scaleBits(), params.blockWidth(), out),
                "create CKKS context");
        return new CkksContext(out.getValue(), params);
    }

    /** {@link #create(CkksParameters)} with {@link CkksParameters#defaults()}. */
    public static CkksContext createDefault() {
        return create(CkksParameters.defaults());
    }

    public CkksParameters parameters() {
        return params;
    }

    /** Vectors per ciphertext, ⌊(N − 1) / B⌋. */
    public int blocks() {
        return blocks;
    }

    /** B. */
    public int blockWidth() {
        return params.blockWidth();
    }

    /** Largest query ciphertext accepted from the network, in bytes. */
    public long maxQueryBytes() {
        return maxQueryBytes;
    }

    /** Largest query ciphertext accepted from the network in its {@link CiphertextWire wire form}, in bytes. */
    public long maxQueryWireBytes() {
        return CiphertextWire.maxWireBytes(maxQueryBytes);
    }

    /** Largest result ciphertext accepted, in bytes. */
    public long maxResultBytes() {
        return maxResultBytes;
    }

    /** Largest serialized secret key accepted, in bytes. */
    public long maxSecretKeyBytes() {
        return maxSecretKeyBytes;
    }

    /** Largest |component| accepted in a query or candidate vector (residual components are ≤ 1). */
    public double maxAbsValue() {
        return maxAbsValue;
    }
}
