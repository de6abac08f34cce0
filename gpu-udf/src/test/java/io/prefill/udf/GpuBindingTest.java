package io.prefill.udf;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
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
    void outsideATaskTheFallbackDecides() {
        assertEquals(-1, GpuBinding.assignedDevice());
        assertEquals(2, GpuBinding.deviceForTask("2"));
        assertEquals(0, GpuBinding.deviceForTask(null));
    }

    @Test
    void oneLockPerDeviceSerialisesItsUsers() throws Exception {
        assertSame(GpuBinding.lock(5), GpuBinding.lock(5));
        assertTrue(GpuBinding.lock(5) != GpuBinding.lock(6));
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch start = new CountDownLatch(1);
        for (int t = 0; t < 4; t++) {
            pool.submit(() -> {
                start.await();
                for (int i = 0; i < 50; i++) {
                    GpuBinding.lock(7).lock();
                    try {
                        maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        Thread.onSpinWait();
                        inside.decrementAndGet();
                    } finally {
                        GpuBinding.lock(7).unlock();
                    }
                }
                return null;
            });
        }
        start.countDown();
        pool.shutdown();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        assertEquals(1, maxInside.get());
    }
}
