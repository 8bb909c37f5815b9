package org.encryptedknn.concurrent;

import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * Runs the units of one query's work (a window's prefix decryptions and keyed residual queries, a ckks window's batches) on the
 * calling thread and on up to {@code helpers} threads of an executor. Units are claimed, not assigned: a helper task
 * that starts late finds nothing left and returns, and the caller only ever waits for units a helper is already
 * running. On a busy machine, where a handed-off task would wait for a core, the caller simply does all the work
 * itself; on an idle one the units spread over the cores.
 */
public final class ParallelWork {

    private ParallelWork() {}

    /** Calls {@code unit} once for each of 0..count-1, on this thread and on up to {@code helpers} of {@code executor}. */
    public static void forEach(int count, IntConsumer unit, Executor executor, int helpers) {
        Objects.requireNonNull(unit, "unit");
        if (executor == null || helpers < 1 || count < 2) {
            for (int i = 0; i < count; i++) {
                unit.accept(i);
            }
            return;
        }
        Claims claims = new Claims(count, unit);
        for (int h = 0; h < Math.min(helpers, count - 1); h++) {
            try {
                executor.execute(claims::work);
            } catch (RejectedExecutionException e) {
                break; // a full queue: this thread does the rest
            }
        }
        claims.work();
        claims.awaitAll();
    }

    private static final class Claims {
        private final int count;
        private final IntConsumer unit;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Claims(int count, IntConsumer unit) {
            this.count = count;
            this.unit = unit;
        }

        void work() {
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                try {
                    unit.accept(i);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    if (finished.incrementAndGet() == count) {
                        synchronized (this) {
                            notifyAll();
                        }
                    }
                }
            }
        }

        synchronized void awaitAll() {
            boolean interrupted = false;
            while (finished.get() < count) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the units in progress write into the caller's arrays: wait for them anyway
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }
}
