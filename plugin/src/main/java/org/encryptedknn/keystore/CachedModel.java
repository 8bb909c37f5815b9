package org.encryptedknn.keystore;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.transform.VectorTransform;

/**
 * A decrypted model as stored in the registry (its current epoch, and the registry document's sequence number), with
 * one {@link VectorTransform} per epoch, built on first use. Older epochs (1 … current) stay usable: they are needed to
 * decrypt and re-key records written before a rotation.
 */
public final class CachedModel {

    private final EncryptionModel model;
    private final long seqNo;
    private final long primaryTerm;
    private volatile long loadedAtNanos;
    private final KeyState state;
    private final Map<Integer, VectorTransform> transforms = new ConcurrentHashMap<>();
    private final AtomicBoolean warmUpClaimed = new AtomicBoolean();

    CachedModel(EncryptionModel model, long seqNo, long primaryTerm, long loadedAtNanos, KeyState state) {
        this.model = model;
        this.seqNo = seqNo;
        this.primaryTerm = primaryTerm;
        this.loadedAtNanos = loadedAtNanos;
        this.state = state;
    }

    public EncryptionModel model() {
        return model;
    }

    public String id() {
        return model.id();
    }

    /** The model's current key epoch: what new documents and queries are encrypted under. */
    public int epoch() {
        return model.epoch();
    }

    public long seqNo() {
        return seqNo;
    }

    public long primaryTerm() {
        return primaryTerm;
    }

    long loadedAtNanos() {
        return loadedAtNanos;
    }

    void touch(long nanos) {
        loadedAtNanos = nanos;
    }

    /** The transform of the current epoch. */
    public VectorTransform transform() {
        return transform(model.epoch());
    }

    /** The transform of {@code epoch}, first live epoch ≤ epoch ≤ current. */
    public VectorTransform transform(int epoch) {
        int first = model.parameters().firstEpoch();
        if (epoch >= 1 && epoch < first) {
            throw new IllegalArgumentException("key epoch " + epoch + " of model [" + model.id()
                    + "] was retired (live epochs " + first + ".." + model.epoch()
                    + "): its records can no longer be read; re-key them before retiring their epoch");
        }
        if (epoch < 1 || epoch > model.epoch()) {
            throw new IllegalArgumentException("model [" + model.id() + "] has key epochs 1.." + model.epoch()
                    + " on this node; a record of epoch " + epoch
                    + " cannot be handled (if the model was just rotated on another node, retry in a few seconds)");
        }
        return transforms.computeIfAbsent(epoch, e -> state.own(new VectorTransform(model, state.keys(), e)));
    }

    /**
     * True for the first caller only: the one that derives the current epoch's cells ahead of use. Every search asks, so
     * the claimed case is a plain read, not a compare-and-set that writes the shared flag's cache line each time.
     */
    boolean claimWarmUp() {
        return warmUpClaimed.get() == false && warmUpClaimed.compareAndSet(false, true);
    }

    @Override
    public String toString() {
        return "CachedModel[" + model.id() + ", epoch " + model.epoch() + ", seq_no " + seqNo + "]";
    }
}
