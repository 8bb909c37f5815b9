package org.encryptedknn.he;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Key-holder side of the CKKS rescoring: encrypts a (keyed residual) query, and decrypts the data
 * node's packed results into one inner product per block.
 *
 * <p>Encryptions of zero are prepared ahead on one background thread (up to {@code prepared} of them, refilled as
 * queries use them), so that encrypting a query online is its encoding and one addition (≈ 0.2 ms instead of ≈ 1 ms
 * at N = 4096: SEAL's Gaussian sampling dominates an encryption). With none prepared, or the stock used up, a query is
 * encrypted from scratch. Thread-safe.
 */
public final class CkksKeyHolder extends NativeHandle {

    /** Prepared encryptions of zero kept by default: two queries probing 8 cells. */
    public static final int DEFAULT_PREPARED = 16;

    private final CkksContext context;
    private final BlockingQueue<PreparedZero> prepared;
    private final ExecutorService refiller;
    private final AtomicBoolean refilling = new AtomicBoolean();

    /** A key holder keeping {@value #DEFAULT_PREPARED} encryptions of zero prepared. */
    public CkksKeyHolder(CkksContext context, CkksSecretKey secretKey) {
        this(context, secretKey, DEFAULT_PREPARED);
    }

    /** A key holder keeping up to {@code prepared} encryptions of zero prepared (0: none, no background thread). */
    public CkksKeyHolder(CkksContext context, CkksSecretKey secretKey, int prepared) {
        super(create(context, secretKey), ptr -> Natives.lib().eks_keyholder_free(ptr), "CKKS key holder");
        if (prepared < 0) {
            throw new HeException(HeException.Kind.INVALID_ARGUMENT, "prepared must be ≥ 0, got " + prepared);
        }
        this.context = context;
        this.prepared = prepared == 0 ? null : new ArrayBlockingQueue<>(prepared);
        this.refiller = prepared == 0
                ? null
                : Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "encrypted-knn-ckks-prepare");
                    t.setDaemon(true);
                    return t;
                });
        refill();
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
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT,
                    "query length must be 1.." + context.blockWidth() + ", got " + (v == null ? "null" : v.length));
        }
        PreparedZero zero = prepared == null ? null : prepared.poll();
        refill();
        Memory m = Natives.floats(v);
        try {
            return use(p -> {
                PointerByReference data = new PointerByReference();
                LongByReference len = new LongByReference();
                if (zero == null) {
                    Natives.check(Natives.lib().eks_encrypt_query(p, null, m, v.length, data, len), "encrypt query");
                } else {
                    zero.use(z -> {
                        Natives.check(Natives.lib().eks_encrypt_query(p, z, m, v.length, data, len), "encrypt query");
                        return null;
                    });
                }
                return CiphertextWire.pack(Natives.take(data, len));
            });
        } finally {
            Natives.wipe(m);
            if (zero != null) {
                zero.close();
            }
        }
    }

    /** Encryptions of zero ready for the next queries. */
    public int preparedCount() {
        return prepared == null ? 0 : prepared.size();
    }

    /** Tops the stock of prepared encryptions of zero up on the background thread (at most one refill runs at a time). */
    private void refill() {
        if (refiller == null || prepared.remainingCapacity() == 0 || !refilling.compareAndSet(false, true)) {
            return;
        }
        try {
            refiller.execute(() -> {
                try {
                    while (!refiller.isShutdown() && prepared.remainingCapacity() > 0) {
                        PreparedZero zero = use(PreparedZero::create);
                        if (!prepared.offer(zero)) {
                            zero.close();
                        }
                    }
                } catch (HeException e) {
                    // closed while refilling, or preparing failed: queries encrypt from scratch (and report any error)
                } finally {
                    refilling.set(false);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            refilling.set(false);
        }
    }

    /** Stops the refill thread, wipes the unused prepared encryptions, then frees the key holder. */
    @Override
    public void close() {
        if (refiller != null) {
            refiller.shutdownNow();
            try {
                refiller.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (PreparedZero zero; (zero = prepared.poll()) != null; ) {
                zero.close();
            }
        }
        super.close();
    }

    /**
     * Decrypts one result ciphertext of {@link CkksScorer} and returns the inner products of its
     * first {@code count} blocks, i.e. with the candidates of that batch, in order.
     */
    public double[] decryptBatch(byte[] wire, int count) {
        if (count < 1 || count > context.blocks()) {
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT, "count must be 1.." + context.blocks() + ", got " + count);
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
            throw new HeException(
                    HeException.Kind.INVALID_ARGUMENT,
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
