package io.prefill.job;

import io.prefill.cuda.CudaAvailability;
import io.prefill.cuda.CudaDevice;
import io.prefill.engine.Backends;
import io.prefill.job.cli.ClusterException;
import io.prefill.model.ModelConfig;
import io.prefill.sparse.PatternConfig;
import io.prefill.udf.ForwardBackends;
import io.prefill.udf.GpuBinding;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.io.Serializable;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.function.Supplier;

/**
 * Which backend runs, decided on the driver before the corpus is read.
 *
 * <ul>
 *   <li>{@code cpu}: the reference engine, always possible.</li>
 *   <li>{@code cuda}: the model must suit the kernels (else exit 3), and one probe task on an
 *       executor must find a usable CUDA device (else exit 4, with the executor's reason in one
 *       line) - before the corpus is read, not as a task failure that the cluster retries.</li>
 *   <li>{@code auto} (the default): cuda when the model suits it and the probe task finds a device,
 *       else cpu. When Spark's resource scheduling gives the executors GPUs
 *       ({@code spark.executor.resource.gpu.amount} or {@code spark.task.resource.gpu.amount}) the
 *       job wants the GPU: a probe that finds none fails the job (exit 4) rather than run the CPU
 *       reference on GPU nodes.</li>
 * </ul>
 * The probe runs as a task because the driver often has no GPU; in local mode the task runs in
 * the driver's JVM.
 */
final class BackendChoice {
    /** The backend that runs, and why, for the plan line. */
    record Decision(String backend, String reason) { }

    /** What one executor reports about CUDA. */
    record Probe(boolean available, String reason, int deviceCount, int assignedDevice, String host,
                 String computeCapability) implements Serializable { }

    private BackendChoice() { }

    static Decision decide(SparkSession spark, String requested, ModelConfig config, String weights,
                           PatternConfig patterns) {
        return decide(requested, config, weights, patterns, gpusScheduled(spark.sparkContext().getConf()),
                () -> probe(spark));
    }

    /** As below for weights in bf16. */
    static Decision decide(String requested, ModelConfig config, PatternConfig patterns, boolean gpusScheduled,
                           Supplier<Probe> executor) {
        return decide(requested, config, "bf16", patterns, gpusScheduled, executor);
    }

    /**
     * The decision, given whether Spark schedules GPUs and a probe of one executor (run only when
     * the model suits the cuda backend and the request is not cpu). {@code weights} is the
     * projections' format as loaded ({@code LoadedModel#weightsLabel}): the cuda backend runs FP8
     * only on a Hopper GPU (compute capability 9.0), which the probe reports.
     */
    static Decision decide(String requested, ModelConfig config, String weights, PatternConfig patterns,
                           boolean gpusScheduled, Supplier<Probe> executor) {
        if (requested.equals(Backends.CPU)) return new Decision(Backends.CPU, "--backend cpu");
        String unsuitable = unsuitable(config, weights, patterns);
        if (requested.equals(Backends.CUDA)) {
            if (unsuitable != null) ForwardBackends.checkSupported(Backends.CUDA, config, weights, patterns);  // throws
            Probe p = executor.get();
            if (!p.available()) {
                throw new ClusterException("--backend cuda: no usable GPU on executor " + p.host() + ": " + p.reason());
            }
            String noFp8 = fp8Unsupported(weights, p);
            if (noFp8 != null) {
                throw new ClusterException("--backend cuda: " + noFp8 + " (give --backend cpu, or --weights bf16)");
            }
            return new Decision(Backends.CUDA, "--backend cuda, " + described(p));
        }
        if (unsuitable != null) {
            return new Decision(Backends.CPU, "--backend auto; " + unsuitable
                    + (gpusScheduled ? "; the GPUs Spark allocated stay idle" : ""));
        }
        Probe p = executor.get();
        String noFp8 = p.available() ? fp8Unsupported(weights, p) : null;
        if (noFp8 != null) {
            return new Decision(Backends.CPU, "--backend auto; " + noFp8
                    + (gpusScheduled ? "; the GPUs Spark allocated stay idle" : ""));
        }
        if (p.available()) return new Decision(Backends.CUDA, "--backend auto, " + described(p));
        if (gpusScheduled) {
            throw new ClusterException("--backend auto: Spark allocates GPUs to the executors but executor " + p.host()
                    + " cannot use them: " + p.reason() + " (give --backend cpu to run without a GPU)");
        }
        return new Decision(Backends.CPU, "--backend auto: no usable GPU on the executors (" + p.reason() + ")");
    }

    /** Why the probed GPU cannot run these weights, or null when it can (FP8 needs Hopper's FP8 tensor cores). */
    static String fp8Unsupported(String weights, Probe p) {
        if (!ForwardBackends.FP8_WEIGHTS.equals(weights) || "9.0".equals(p.computeCapability())) return null;
        return "FP8 weights run on Hopper's FP8 tensor cores (compute capability 9.0), and the GPU of executor "
                + p.host() + " has compute capability " + p.computeCapability();
    }

    /** Why the cuda backend cannot run this model, or null when it can. */
    static String unsuitable(ModelConfig config, String weights, PatternConfig patterns) {
        try {
            ForwardBackends.checkSupported(Backends.CUDA, config, weights, patterns);
            return null;
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }

    /** Whether Spark's resource scheduling gives tasks GPUs (in local mode: the driver's). */
    static boolean gpusScheduled(SparkConf conf) {
        return amount(conf, "spark.executor.resource." + GpuBinding.RESOURCE + ".amount") > 0
                || amount(conf, "spark.task.resource." + GpuBinding.RESOURCE + ".amount") > 0
                || conf.get("spark.master", "").startsWith("local")
                        && amount(conf, "spark.driver.resource." + GpuBinding.RESOURCE + ".amount") > 0;
    }

    private static double amount(SparkConf conf, String key) {
        try {
            return Double.parseDouble(conf.get(key, "0").trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** One task on an executor, before the corpus is read: does CUDA work there, and which GPU did Spark give it? */
    static Probe probe(SparkSession spark) {
        spark.sparkContext().setJobDescription("minference pre-fill: checking an executor's GPU");
        try {
            List<Probe> found = JavaSparkContext.fromSparkContext(spark.sparkContext())
                    .parallelize(List.of(0), 1)
                    .map(i -> here())
                    .collect();
            return found.get(0);
        } catch (RuntimeException e) {
            throw new ClusterException("the GPU probe task failed: " + e.getMessage(), e);
        } finally {
            spark.sparkContext().setJobDescription(null);
        }
    }

    /** The probe's answer in this JVM. */
    static Probe here() {
        CudaAvailability cuda = CudaAvailability.probe();
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "?";
        }
        int assigned = GpuBinding.assignedDevice();
        String capability = "";
        if (cuda.available()) {
            try {
                capability = CudaDevice.open(Math.max(0, assigned)).computeCapability();
            } catch (RuntimeException e) {
                capability = "unknown (" + e.getMessage() + ")";
            }
        }
        return new Probe(cuda.available(), cuda.reason(), cuda.deviceCount(), assigned, host, capability);
    }

    private static String described(Probe p) {
        return p.deviceCount() + " CUDA device(s) on executor " + p.host()
                + (p.assignedDevice() >= 0 ? ", Spark assigned GPU " + p.assignedDevice() : "");
    }
}
