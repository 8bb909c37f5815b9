package org.encryptedknn.keys;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.Test;

public class SecretGuardTest {

    @Test
    public void usesNestAndRunConcurrently() throws Exception {
        SecretGuard guard = new SecretGuard("test secrets");
        assertEquals(3, (int) guard.use(() -> guard.use(() -> 3)));
        CountDownLatch bothInside = new CountDownLatch(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> a = pool.submit(() -> guard.use(() -> {
                bothInside.countDown();
                return awaitQuietly(bothInside);
            }));
            Future<?> b = pool.submit(() -> guard.use(() -> {
                bothInside.countDown();
                return awaitQuietly(bothInside);
            }));
            a.get(10, TimeUnit.SECONDS);
            b.get(10, TimeUnit.SECONDS); // neither waited for the other to leave
        } finally {
            pool.shutdownNow();
        }
        assertFalse(guard.isClosed());
    }

    @Test
    public void closeWaitsForTheUsesInProgressThenRefusesNewOnes() throws Exception {
        SecretGuard guard = new SecretGuard("transform of model 'm1' epoch 2");
        int[] secret = {42};
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger zeroizations = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            Future<Integer> reader = pool.submit(() -> guard.use(() -> {
                inside.countDown();
                awaitQuietly(release);
                return secret[0]; // still readable: close has not zeroed it
            }));
            assertTrue(inside.await(10, TimeUnit.SECONDS));
            Future<?> closer = pool.submit(() -> guard.close(() -> {
                zeroizations.incrementAndGet();
                secret[0] = 0;
            }));
            waitUntil(guard::isClosed); // the first close has begun: it owns the zeroing
            Future<?> secondCloser = pool.submit(() -> guard.close(zeroizations::incrementAndGet));
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> guard.use(() -> 1));
            assertEquals("transform of model 'm1' epoch 2 has been closed", refused.getMessage());
            Thread.sleep(50);
            assertFalse("close returned while a use was in progress", closer.isDone());
            assertFalse("a second close returned before the secrets were zeroed", secondCloser.isDone());
            release.countDown();
            assertEquals(42, (int) reader.get(10, TimeUnit.SECONDS));
            closer.get(10, TimeUnit.SECONDS);
            secondCloser.get(10, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, zeroizations.get());
        assertEquals(0, secret[0]);
    }

    private static Void awaitQuietly(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out");
            }
            Thread.sleep(1);
        }
    }
}
