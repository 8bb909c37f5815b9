package org.encryptedknn.keys;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Keeps secret arrays from being zeroed while a computation reads them. Every use of the secrets runs inside
 * {@link #use} (a read lock: uses run concurrently); {@link #close} takes the write lock, so it waits for the uses in
 * progress, zeroes, and from then on every use fails with an {@link IllegalStateException} instead of computing with
 * zeroed keys (which would yield a wrong ciphertext, silently). A key retirement that must not wait forever (the
 * gateway's forced close of a leaked lease) therefore still never corrupts a request: the request fails cleanly.
 */
public final class SecretGuard {

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String what;
    private boolean closed;

    /** @param what names the holder in the error of a use after close, e.g. "transform of model 'm1' epoch 2" */
    public SecretGuard(String what) {
        this.what = what;
    }

    /** Runs {@code body} with the secrets held open. */
    public <T> T use(Supplier<T> body) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException(what + " has been closed");
            }
            return body.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Waits for the uses in progress, then runs {@code zeroize} once; later calls do nothing. */
    public void close(Runnable zeroize) {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            zeroize.run();
        } finally {
            lock.writeLock().unlock();
        }
    }

    public boolean isClosed() {
        lock.readLock().lock();
        try {
            return closed;
        } finally {
            lock.readLock().unlock();
        }
    }
}
