package io.prefill.udf;

import io.prefill.settings.PrefillSettings;
import org.apache.spark.SparkContext;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.SparkSession;
import scala.Option;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Which GPU a task may use, as Spark's resource scheduler assigned it
 * (spark.executor.resource.gpu.amount / spark.task.resource.gpu.amount), and one lock per device.
 * With a fractional task amount several tasks share a GPU; their pre-fills take turns on the
 * device lock, each using the whole card's memory budget, instead of racing for memory.
 *
 * <p>Spark's local mode schedules no custom resources: its tasks carry no GPU even when the driver
 * discovered some ({@code spark.driver.resource.gpu.*}, as {@code scripts/submit.sh local} sets). There
 * the task takes one of the driver's GPUs, by partition, so every discovered GPU is used.
 */
public final class GpuBinding {
    public static final String RESOURCE = "gpu";

    private static final Map<Integer, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private GpuBinding() { }

    /** The device a task uses and where that choice came from (for the task log). */
    public record Binding(int device, String source) { }

    /** The device index Spark gave the running task, or -1 when it gave none (or outside a task). */
    public static int assignedDevice() {
        String[] addresses = addresses(TaskContext.get() == null ? null : TaskContext.get().resources().get(RESOURCE));
        return addresses == null ? -1 : deviceOf(addresses);
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
        return bindingForTask(fallback).device();
    }

    /**
     * The device for this task and why: the GPU Spark's scheduler assigned the task; in local mode the
     * driver's GPUs (task partition modulo their number); else the fallback
     * ({@link PrefillSettings#CUDA_DEVICE}).
     */
    public static Binding bindingForTask(int fallback) {
        TaskContext task = TaskContext.get();
        if (task != null) {
            String[] assigned = addresses(task.resources().get(RESOURCE));
            if (assigned != null) {
                return new Binding(deviceOf(assigned), "Spark task resources gpu=" + Arrays.toString(assigned));
            }
            String[] driver = localModeDriverGpus();
            if (driver != null) return localModeBinding(driver, task.partitionId());
        }
        return new Binding(fallback, "no GPU from Spark: " + PrefillSettings.CUDA_DEVICE.key() + "=" + fallback);
    }

    /** Local mode: partition p of a job uses the driver's GPU p mod n. */
    static Binding localModeBinding(String[] driverGpus, int partition) {
        String address = driverGpus[Math.floorMod(partition, driverGpus.length)];
        return new Binding(deviceOf(new String[]{address}),
                "the driver's GPUs " + Arrays.toString(driverGpus) + " (local mode, by partition)");
    }

    /** The driver's discovered GPUs when this JVM is a local-mode driver running tasks itself, else null. */
    private static String[] localModeDriverGpus() {
        Option<SparkSession> session = SparkSession.getDefaultSession();
        if (session.isEmpty()) return null;
        SparkContext sc = session.get().sparkContext();
        return sc.isLocal() && !sc.isStopped() ? addresses(sc.resources().get(RESOURCE)) : null;
    }

    private static String[] addresses(Option<ResourceInformation> gpu) {
        if (gpu == null || gpu.isEmpty() || gpu.get().addresses().length == 0) return null;
        return gpu.get().addresses();
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
