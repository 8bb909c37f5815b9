package org.encryptedknn.keys;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Keeps secret arrays from being zeroed while a computation reads them. Every use of the secrets runs inside
 * {@link #use} (uses run concurrently and may nest); {@link #close} waits for the uses in progress, zeroes, and from
 * then on every use fails with an {@link IllegalStateException} instead of computing with zeroed keys (which would
 * yield a wrong ciphertext, silently). A key retirement that must not wait forever (the gateway's forced close of a
 * leaked lease) therefore still never corrupts a request: the request fails cleanly.
 *
 * <p>One atomic word holds the count of uses in progress and a closed bit. A read lock would do the same, but a
 * {@code ReentrantReadWriteLock} tracks each reader in a thread-local, and dropping that entry on every unlock cost 5 %
 * of a key-holder search (a window of 300 records makes thousands of uses; docs/performance.md).
 */
public final class SecretGuard {

    private static final long CLOSED = Long.MIN_VALUE; // the sign bit; the rest counts the uses in progress

    private final AtomicLong state = new AtomicLong();
    private final String what;
    private boolean zeroized; // guarded by this

    /** @param what names the holder in the error of a use after close, e.g. "transform of model 'm1' epoch 2" */
    public SecretGuard(String what) {
        this.what = what;
    }

    /** Runs {@code body} with the secrets held open. */
    public <T> T use(Supplier<T> body) {
        long s;
        do {
            s = state.get();
            if ((s & CLOSED) != 0) {
                throw new IllegalStateException(what + " has been closed");
            }
        } while (!state.compareAndSet(s, s + 1));
        try {
            return body.get();
        } finally {
            if (state.decrementAndGet() == CLOSED) { // the last use a close waits for
                synchronized (this) {
                    notifyAll();
                }
            }
        }
    }

    /** Waits for the uses in progress, then runs {@code zeroize} once; later calls wait for it and do nothing. */
    public synchronized void close(Runnable zeroize) {
        if (isClosed()) {
            awaitUninterruptibly(() -> zeroized);
            return;
        }
        state.getAndUpdate(s -> s | CLOSED);
        awaitUninterruptibly(() -> state.get() == CLOSED);
        zeroize.run();
        zeroized = true;
        notifyAll();
    }

    /** Waits on this monitor (held) until {@code done}; the secrets must be zeroed even if interrupted. */
    private void awaitUninterruptibly(BooleanSupplier done) {
        boolean interrupted = false;
        while (!done.getAsBoolean()) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }
}
