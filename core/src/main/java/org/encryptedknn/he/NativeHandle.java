package org.encryptedknn.he;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Owns one native handle. Freed exactly once: by {@link #close()}, or by a {@link Cleaner} if the
 * owner becomes unreachable without being closed (a safety net, counted in
 * {@link NativeMemory#leakedHandles()}). Calls run under a read lock and close takes the write
 * lock, so a handle is never freed while a call on another thread still uses it.
 */
abstract class NativeHandle implements AutoCloseable {

    private static final Cleaner CLEANER = Cleaner.create();
    static final AtomicLong LIVE = new AtomicLong();
    static final AtomicLong LEAKED = new AtomicLong();

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Release release;
    private final Cleaner.Cleanable cleanable;
    private final String what;
    private volatile boolean closed;

    /** Cleaner state: must not reference the owning object. */
    private static final class Release implements Runnable {
        private final Pointer ptr;
        private final Consumer<Pointer> free;
        private final AtomicBoolean done = new AtomicBoolean();
        volatile boolean explicit;

        Release(Pointer ptr, Consumer<Pointer> free) {
            this.ptr = ptr;
            this.free = free;
        }

        @Override
        public void run() {
            if (done.compareAndSet(false, true)) {
                if (!explicit) {
                    LEAKED.incrementAndGet();
                }
                free.accept(ptr);
                LIVE.decrementAndGet();
            }
        }
    }

    NativeHandle(Pointer ptr, Consumer<Pointer> free, String what) {
        if (ptr == null) {
            throw new HeException(HeException.Kind.NULL_HANDLE, "native call returned a null " + what);
        }
        this.what = what;
        this.release = new Release(ptr, free);
        LIVE.incrementAndGet();
        this.cleanable = CLEANER.register(this, release);
    }

    /** Runs {@code f} with the live pointer; throws {@link HeException.Kind#CLOSED} after close. */
    final <T> T use(Function<Pointer, T> f) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new HeException(HeException.Kind.CLOSED, what + " is closed");
            }
            return f.apply(release.ptr);
        } finally {
            lock.readLock().unlock();
        }
    }

    final boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            release.explicit = true;
            cleanable.clean();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
