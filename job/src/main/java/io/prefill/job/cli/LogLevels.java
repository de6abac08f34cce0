package io.prefill.job.cli;

import io.prefill.settings.OptionTable;
import io.prefill.settings.UsageException;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;

import java.util.List;
import java.util.Locale;

/**
 * The applications' log level (--log-level, default WARN), set on log4j's root logger as soon as
 * the arguments are read, before Spark starts, and handed to the SparkContext as
 * {@code spark.log.level}. Two notices that say nothing about the job are silenced below INFO:
 * DJL's probe for a GPU (the tokenizer never uses one) and Hadoop's note that it runs without its
 * native library (its Java code does the same work), and Spark SQL's note that a plan's debug string
 * was truncated.
 */
public final class LogLevels {
    /** The levels Spark's {@code spark.log.level} accepts. */
    public static final List<String> LEVELS = List.of("OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL");
    /** The logger of DJL's GPU count probe, which warns on machines with a CUDA library but no device. */
    static final String DJL_CUDA_PROBE = "ai.djl.util.cuda.CudaUtils";
    /** Hadoop's "Unable to load native-hadoop library" notice. */
    static final String HADOOP_NATIVE = "org.apache.hadoop.util.NativeCodeLoader";
    /** Spark SQL's note that a plan's debug string was cut (wide corpora); it says nothing about the job. */
    static final String PLAN_STRING_TRUNCATED = "org.apache.spark.sql.catalyst.util.SparkStringUtils";

    private static volatile String current = OptionTable.DEFAULT_LOG_LEVEL;

    private LogLevels() { }

    /** The level name, upper case; an unknown one is a usage error. */
    public static String validate(String level) {
        String l = level.trim().toUpperCase(Locale.ROOT);
        if (!LEVELS.contains(l)) throw new UsageException("option --log-level: '" + level + "' is not one of " + LEVELS);
        return l;
    }

    /**
     * Sets the root level (and the notices') in this JVM now; Spark sessions created later take it
     * too. Without log4j on the class path (GpuSharePlan under plain {@code java}) nothing logs and
     * there is nothing to set.
     */
    public static void apply(String level) {
        String l = validate(level);
        current = l;
        try {
            Log4j.apply(l);
        } catch (LinkageError noLog4j) {
            // no log4j-core in this JVM
        }
    }

    /** The log4j calls, in a class of their own so that a JVM without log4j never loads them. */
    private static final class Log4j {
        static void apply(String level) {
            Level lvl = Level.toLevel(level);
            Configurator.setRootLevel(lvl);
            Level notices = lvl.isMoreSpecificThan(Level.WARN) ? Level.ERROR : lvl;
            Configurator.setLevel(DJL_CUDA_PROBE, notices);
            Configurator.setLevel(HADOOP_NATIVE, notices);
            Configurator.setLevel(PLAN_STRING_TRUNCATED, notices);
        }
    }

    /** The level last applied (WARN unless told otherwise). */
    public static String current() { return current; }
}
