package org.encryptedknn.concurrent;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.Test;

public class ParallelWorkTest {

    @Test
    public void everyUnitRunsExactlyOnceOnTheCallerAndTheHelpers() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            for (int count : new int[] {0, 1, 2, 7, 500}) {
                AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(1, count));
                Set<String> threads = ConcurrentHashMap.newKeySet();
                ParallelWork.forEach(
                        count,
                        i -> {
                            runs.incrementAndGet(i);
                            threads.add(Thread.currentThread().getName());
                            busy(20_000);
                        },
                        pool,
                        3);
                for (int i = 0; i < count; i++) {
                    assertEquals("unit " + i + " of " + count, 1, runs.get(i));
                }
                if (count == 500) {
                    assertTrue("helpers took part: " + threads, threads.size() > 1);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void aBusyOrRefusingExecutorLeavesTheWorkToTheCaller() throws Exception {
        ExecutorService blocked = Executors.newSingleThreadExecutor();
        CountDownLatch release = new CountDownLatch(1);
        blocked.execute(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            Thread caller = Thread.currentThread();
            AtomicIntegerArray runs = new AtomicIntegerArray(50);
            // the helper task is queued behind a task that never ends until released: the caller must not wait for it
            ParallelWork.forEach(
                    50,
                    i -> {
                        assertSame(caller, Thread.currentThread());
                        runs.incrementAndGet(i);
                    },
                    blocked,
                    1);
            for (int i = 0; i < 50; i++) {
                assertEquals(1, runs.get(i));
            }
            AtomicIntegerArray refused = new AtomicIntegerArray(5);
            ParallelWork.forEach(
                    5,
                    refused::incrementAndGet,
                    task -> {
                        throw new RejectedExecutionException("queue full");
                    },
                    2);
            for (int i = 0; i < 5; i++) {
                assertEquals(1, refused.get(i));
            }
        } finally {
            release.countDown();
            blocked.shutdown();
            assertTrue(blocked.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    public void aFailingUnitFailsTheCallAfterTheOthersFinish() {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            AtomicIntegerArray runs = new AtomicIntegerArray(40);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> ParallelWork.forEach(
                            40,
                            i -> {
                                runs.incrementAndGet(i);
                                if (i == 13) {
                                    throw new IllegalArgumentException("unit 13");
                                }
                            },
                            pool,
                            2));
            assertEquals("unit 13", e.getMessage());
            for (int i = 0; i < 40; i++) {
                assertEquals(1, runs.get(i));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static void busy(long nanos) {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }
}
