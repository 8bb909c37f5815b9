package org.encryptedknn.he;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

import java.util.List;

/**
 * Key-holder side of the CKKS rescoring: encrypts a (keyed residual) query, and decrypts the data
 * node's packed results into one inner product per block.
 * Thread-safe.
 */
public final class CkksKeyHolder extends NativeHandle {

    private final CkksContext context;

    public CkksKeyHolder(CkksContext context, CkksSecretKey secretKey) {
        super(create(context, secretKey), ptr -> Natives.lib().eks_keyholder_free(ptr), "CKKS key holder");
        this.context = context;
    }

    private static Pointer create(CkksContext context, CkksSecretKey secretKey) {
        PointerByReference out = new PointerByReference();
        context.use(c -> secretKey.use(s -> {
            Natives.check(Natives.lib().eks_keyholder_create(c, s, out), "create key holder");
            return null;
        }));
        return out.getValue();
    }

    public CkksContext context() {
        return context;
    }

    /**
     * Encrypts {@code v} (length ≤ B) with the secret key; returns the seeded ciphertext in its
     * {@link CiphertextWire wire form}, to send to the data node.
     */
    public byte[] encryptQuery(float[] v) {
        if (v == null || v.length == 0 || v.length > context.blockWidth()) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT,
                "query length must be 1.." + context.blockWidth() + ", got " + (v == null ? "null" : v.length));
        }
        Memory m = Natives.floats(v);
        try {
            return use(p -> {
                PointerByReference data = new PointerByReference();
                LongByReference len = new LongByReference();
                Natives.check(Natives.lib().eks_encrypt_query(p, m, v.length, data, len), "encrypt query");
                return CiphertextWire.pack(Natives.take(data, len));
            });
        } finally {
            Natives.wipe(m);
        }
    }

    /**
     * Decrypts one result ciphertext of {@link CkksScorer} and returns the inner products of its
     * first {@code count} blocks, i.e. with the candidates of that batch, in order.
     */
    public double[] decryptBatch(byte[] wire, int count) {
        if (count < 1 || count > context.blocks()) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT, "count must be 1.." + context.blocks() + ", got " + count);
        }
        byte[] result = CiphertextWire.unpack(wire, context.maxResultBytes(), "result ciphertext");
        SealHeader.check(result, context.maxResultBytes(), "result ciphertext");
        Memory out = new Memory((long) count * Double.BYTES);
        try {
            return use(p -> {
                Natives.check(Natives.lib().eks_decrypt_scores(p, result, result.length, count, out), "decrypt result");
                return out.getDoubleArray(0, count);
            });
        } finally {
            Natives.wipe(out);
        }
    }

    /**
     * Decrypts the results of {@link CkksScorer#score} for {@code candidates} candidates
     * (⌈candidates / blocks⌉ ciphertexts) into one score per candidate, in order.
     */
    public double[] decryptScores(List<byte[]> results, int candidates) {
        int blocks = context.blocks();
        int expected = (candidates + blocks - 1) / blocks;
        if (candidates < 0 || results.size() != expected) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT,
                candidates + " candidates need " + expected + " result ciphertexts, got " + results.size());
        }
        double[] scores = new double[candidates];
        for (int i = 0; i < results.size(); i++) {
            int n = Math.min(blocks, candidates - i * blocks);
            double[] s = decryptBatch(results.get(i), n);
            System.arraycopy(s, 0, scores, i * blocks, n);
        }
        return scores;
    }
}
