package io.prefill.udf;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuBindingTest {
    @Test
    void firstAddressIsTheDevice() {
        assertEquals(3, GpuBinding.deviceOf(new String[]{"3", "4"}));
        assertEquals(0, GpuBinding.deviceOf(new String[]{" 0 "}));
    }

    @Test
    void nonIndexAddressesAreRejectedWithAHint() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GpuBinding.deviceOf(new String[]{"GPU-8f2c"}));
        assertTrue(e.getMessage().contains("GPU-8f2c") && e.getMessage().contains("discovery script"));
        assertThrows(IllegalStateException.class, () -> GpuBinding.deviceOf(new String[]{"-1"}));
    }

    @Test
    void inLocalModeTasksSpreadOverTheDriversGpusByPartition() {
        String[] driver = {"0", "1"};
        assertEquals(0, GpuBinding.localModeBinding(driver, 0).device());
        assertEquals(1, GpuBinding.localModeBinding(driver, 1).device());
        assertEquals(0, GpuBinding.localModeBinding(driver, 4).device());
        assertEquals(3, GpuBinding.localModeBinding(new String[]{"3"}, 7).device());
        assertTrue(GpuBinding.localModeBinding(driver, 1).source().contains("local mode"));
    }

    @Test
    void outsideATaskTheFallbackDecides() {
        assertEquals(-1, GpuBinding.assignedDevice());
        assertEquals(2, GpuBinding.deviceForTask(2));
        assertEquals(0, GpuBinding.deviceForTask(0));
        assertEquals("no GPU from Spark: spark.prefill.cuda.device=2", GpuBinding.bindingForTask(2).source());
    }

    @Test
    void tasksOnOneDeviceTakeTurnsWhileOtherDevicesRun() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<String> events = new CopyOnWriteArrayList<>();
            CountDownLatch firstInside = new CountDownLatch(1);
            CountDownLatch releaseFirst = new CountDownLatch(1);
            Future<String> first = pool.submit(() -> GpuBinding.exclusively(7, () -> {
                events.add("first in");
                firstInside.countDown();
                await(releaseFirst);
                events.add("first out");
                return "first";
            }));
            assertTrue(firstInside.await(30, TimeUnit.SECONDS));

            AtomicReference<Thread> secondThread = new AtomicReference<>();
            Future<String> second = pool.submit(() -> {
                secondThread.set(Thread.currentThread());
                return GpuBinding.exclusively(7, () -> {
                    events.add("second in");
                    return "second";
                });
            });
            // The second task reaches device 7's lock and waits there, behind the first.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (secondThread.get() == null || !GpuBinding.lock(7).hasQueuedThread(secondThread.get())) {
                assertFalse(second.isDone(), "the second task ran while the first held device 7");
                assertTrue(System.nanoTime() < deadline, "the second task never queued on device 7");
                Thread.onSpinWait();
            }
            assertFalse(second.isDone());

            // Another device is not held up by device 7's user, and no device means no lock at all.
            assertEquals("other", pool.submit(() -> GpuBinding.exclusively(8, () -> "other")).get(30, TimeUnit.SECONDS));
            assertEquals("cpu", GpuBinding.exclusively(-1, () -> "cpu"));

            releaseFirst.countDown();
            assertEquals("first", first.get(30, TimeUnit.SECONDS));
            assertEquals("second", second.get(30, TimeUnit.SECONDS));
            assertEquals(List.of("first in", "first out", "second in"), events);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailingTaskReleasesTheDevice() throws Exception {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GpuBinding.exclusively(9, () -> { throw new IllegalStateException("kernel failed"); }));
        assertEquals("kernel failed", e.getMessage());
        assertFalse(GpuBinding.lock(9).isLocked());
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            assertEquals("next", pool.submit(() -> GpuBinding.exclusively(9, () -> "next")).get(30, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
