package io.prefill.udf;

import io.prefill.settings.PrefillSettings;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.Option;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Which GPU a task may use, as Spark's resource scheduler assigned it
 * (spark.executor.resource.gpu.amount / spark.task.resource.gpu.amount), and one lock per device.
 * With a fractional task amount several tasks share a GPU; their pre-fills take turns on the
 * device lock, each using the whole card's memory budget, instead of racing for memory.
 */
public final class GpuBinding {
    public static final String RESOURCE = "gpu";

    private static final Map<Integer, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private GpuBinding() { }

    /** The device index Spark gave the running task, or -1 when it gave none (or outside a task). */
    public static int assignedDevice() {
        TaskContext task = TaskContext.get();
        if (task == null) return -1;
        Option<ResourceInformation> gpu = task.resources().get(RESOURCE);
        if (gpu.isEmpty() || gpu.get().addresses().length == 0) return -1;
        return deviceOf(gpu.get().addresses());
    }

    /** The device a task uses among the addresses Spark gave it: the first, as a CUDA index. */
    static int deviceOf(String[] addresses) {
        String address = addresses[0];
        try {
            int device = Integer.parseInt(address.trim());
            if (device < 0) throw new NumberFormatException();
            return device;
        } catch (NumberFormatException e) {
            throw new IllegalStateException("GPU address '" + address + "' from Spark's resource discovery is not a "
                    + "device index; the discovery script must print indices such as \"0\", \"1\"");
        }
    }

    /**
     * The device for this task: the scheduler's choice, else the fallback
     * ({@link PrefillSettings#CUDA_DEVICE}, 0 unless set).
     */
    public static int deviceForTask(int fallback) {
        int assigned = assignedDevice();
        return assigned >= 0 ? assigned : fallback;
    }

    /**
     * Runs work on a device while holding its lock, so tasks sharing the GPU take turns (in arrival
     * order) and each may use the whole card; other devices are not held up. Device -1 (no GPU)
     * runs at once.
     */
    public static <T> T exclusively(int device, Supplier<T> work) {
        if (device < 0) return work.get();
        ReentrantLock lock = lock(device);
        lock.lock();
        try {
            return work.get();
        } finally {
            lock.unlock();
        }
    }

    static ReentrantLock lock(int device) {
        return LOCKS.computeIfAbsent(device, d -> new ReentrantLock(true));
    }
}
